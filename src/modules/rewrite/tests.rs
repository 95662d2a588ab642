use super::*;

#[test]
fn cookies_as_apache_builds_them() {
    assert_eq!(
        cookie("lang:fr:.example.org").as_deref(),
        Some("lang=fr; path=/; domain=.example.org")
    );
    let c = cookie("s:1:example.org:10:/app:secure:true:Lax").unwrap();
    assert!(c.starts_with("s=1; path=/app; domain=example.org; expires="));
    assert!(c.ends_with("GMT; secure; HttpOnly; SameSite=Lax"));
    assert_eq!(
        cookie(";a;b:c;d.org").as_deref(),
        Some("a=b:c; path=/; domain=d.org")
    );
    // Name, value and domain are required.
    assert_eq!(cookie("a:b"), None);
    assert_eq!(cookie(":b:c"), None);
}

#[test]
fn normalisation_never_climbs_above_the_root() {
    assert_eq!(normalize("/a/../../etc/passwd"), "/etc/passwd");
    assert_eq!(normalize("/a/./b//c/"), "/a/b/c/");
    assert_eq!(normalize("/.."), "/");
    assert_eq!(normalize("/"), "/");
}

#[test]
fn prefixes_are_replaced_by_the_base() {
    assert_eq!(
        subst_prefix_path("/srv/www/index.php", "/srv/www/", "/blog/"),
        "/blog/index.php"
    );
    assert_eq!(
        subst_prefix_path("/srv/www/index.php", "/srv/www/", "/"),
        "/index.php"
    );
    assert_eq!(subst_prefix_path("/other/x", "/srv/www/", "/b"), "/other/x");
}

#[test]
fn redirect_locations_are_escaped_unless_ne() {
    let pass = Pass {
        uri: "http://h/a b%".into(),
        query: Some("q=1 2".into()),
        redirect: Some(301),
        ..Pass::default()
    };
    let r = redirect(&pass, false, None);
    assert_eq!(r.status.as_u16(), 301);
    assert_eq!(
        r.headers.get("location").unwrap().to_str().unwrap(),
        "http://h/a%20b%25?q=1%202"
    );
    let r = redirect(&pass, true, None);
    assert_eq!(
        r.headers.get("location").unwrap().to_str().unwrap(),
        "http://h/a b%?q=1 2"
    );
    // An unchanged query string is passed as the client sent it.
    let same = Pass {
        uri: "http://h/x".into(),
        query: Some("a=%41".into()),
        ..Pass::default()
    };
    let r = redirect(&same, false, Some("a=%41"));
    assert_eq!(r.status.as_u16(), 302);
    assert_eq!(
        r.headers.get("location").unwrap().to_str().unwrap(),
        "http://h/x?a=%41"
    );
}

#[test]
fn redirect_recursion_is_bounded() {
    let conn = ConnInfo::new(
        "127.0.0.1:1".parse().unwrap(),
        "127.0.0.1:2".parse().unwrap(),
    );
    let a = enter_redirect(2, &conn).unwrap();
    let b = enter_redirect(2, &conn).unwrap();
    assert!(enter_redirect(2, &conn).is_none());
    drop(b);
    let c = enter_redirect(2, &conn);
    assert!(c.is_some());
    drop(c);
    drop(a);
    assert_eq!(REDIRECTS.with(Cell::get).0, 0);
}
