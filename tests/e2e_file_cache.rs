//! The default handler's open-file cache under each MPM: a descriptor is kept and used
//! again only while the file is the same, so a file replaced, truncated, deleted,
//! made unreadable or reached through a swapped symlink while cached is served exactly
//! as it would be without the cache (body, Content-Length, ETag, status).

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::Duration;

use common::Server;

const SMALL: &str = "ServerLimit 1\nStartServers 1\nThreadsPerChild 4\nThreadLimit 4\nMinSpareThreads 1\nMaxSpareThreads 4\nMaxRequestWorkers 4\n";
const PREFORK: &str =
    "StartServers 1\nMinSpareServers 1\nMaxSpareServers 1\nServerLimit 1\nMaxRequestWorkers 1\n";

fn start(mpm: &str) -> Option<(Server, i32)> {
    if !rhttpd_sys::running_as_root() || rhttpd_sys::lookup_user("nobody").is_none() {
        eprintln!("note: skipped, needs root and user nobody (permission changes)");
        return None;
    }
    let group = if rhttpd_sys::lookup_group("nogroup").is_some() {
        "nogroup"
    } else {
        "nobody"
    };
    let sizing = if mpm == "prefork" { PREFORK } else { SMALL };
    let s = Server::start_with_setup(
        &format!("LoadModule mpm_{mpm}_module m\n{sizing}User nobody\nGroup {group}\n"),
        &["-D", "FOREGROUND"],
        |root: &Path| {
            for d in [root.to_path_buf(), root.join("htdocs")] {
                std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o755)).unwrap();
            }
        },
    );
    let mut kids = Vec::new();
    assert!(
        common::wait_until(Duration::from_secs(10), || {
            kids = s.children();
            kids.len() == 1
        }),
        "one child expected: {kids:?}"
    );
    Some((s, kids[0]))
}

fn put(s: &Server, name: &str, content: &str) {
    let p = s.path(&format!("htdocs/{name}"));
    std::fs::write(&p, content).unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).unwrap();
}

/// What the child holds open under htdocs (the cache's descriptors), as link targets.
fn held(pid: i32, s: &Server) -> Vec<String> {
    let docroot = s.path("htdocs").display().to_string();
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|d| {
            d.filter_map(|e| std::fs::read_link(e.ok()?.path()).ok())
                .map(|t| t.display().to_string())
                .filter(|t| t.starts_with(&docroot))
                .collect()
        })
        .unwrap_or_default()
}

fn body(s: &Server, path: &str) -> (u16, String, Option<String>, Option<String>) {
    let r = s.get(path);
    (
        r.status,
        r.text(),
        r.header("Content-Length").map(str::to_string),
        r.header("ETag").map(str::to_string),
    )
}

fn scenario(mpm: &str) {
    let Some((s, child)) = start(mpm) else {
        return;
    };
    put(&s, "f.txt", "version one\n");
    let (status, text, len, etag1) = body(&s, "/f.txt");
    assert_eq!(
        (status, text.as_str(), len.as_deref()),
        (200, "version one\n", Some("12"))
    );
    // Served again from the same descriptor, which the child keeps.
    assert_eq!(body(&s, "/f.txt").1, "version one\n");
    let f = s.path("htdocs/f.txt").display().to_string();
    assert!(held(child, &s).contains(&f), "{mpm}: {:?}", held(child, &s));

    // Replaced by a rename (a new inode): the new content, length and ETag.
    let tmp = s.path("htdocs/f.new");
    std::fs::write(&tmp, "version two, longer\n").unwrap();
    std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o644)).unwrap();
    std::fs::rename(&tmp, s.path("htdocs/f.txt")).unwrap();
    let (status, text, len, etag2) = body(&s, "/f.txt");
    assert_eq!(
        (status, text.as_str(), len.as_deref()),
        (200, "version two, longer\n", Some("20")),
        "{mpm}: replaced"
    );
    assert_ne!(etag1, etag2, "{mpm}: the ETag follows the replacement");

    // Truncated and rewritten in place (the same inode).
    std::fs::write(s.path("htdocs/f.txt"), "v3\n").unwrap();
    let (status, text, len, _) = body(&s, "/f.txt");
    assert_eq!(
        (status, text.as_str(), len.as_deref()),
        (200, "v3\n", Some("3")),
        "{mpm}: truncated"
    );

    // Made unreadable for the server's user: refused as without the cache.
    let fp = s.path("htdocs/f.txt");
    std::fs::set_permissions(&fp, std::fs::Permissions::from_mode(0o000)).unwrap();
    assert_eq!(body(&s, "/f.txt").0, 403, "{mpm}: unreadable");
    std::fs::set_permissions(&fp, std::fs::Permissions::from_mode(0o644)).unwrap();
    assert_eq!(body(&s, "/f.txt").1, "v3\n", "{mpm}: readable again");

    // A symlink swapped to another target (Options FollowSymLinks, the default).
    put(&s, "a.txt", "target A\n");
    put(&s, "b.txt", "target B\n");
    std::os::unix::fs::symlink("a.txt", s.path("htdocs/link.txt")).unwrap();
    assert_eq!(body(&s, "/link.txt").1, "target A\n");
    std::os::unix::fs::symlink("b.txt", s.path("htdocs/link.new")).unwrap();
    std::fs::rename(s.path("htdocs/link.new"), s.path("htdocs/link.txt")).unwrap();
    assert_eq!(
        body(&s, "/link.txt").1,
        "target B\n",
        "{mpm}: symlink swapped"
    );

    // Deleted: 404, and the deleted file's descriptor is let go at once.
    std::fs::remove_file(&fp).unwrap();
    assert_eq!(body(&s, "/f.txt").0, 404, "{mpm}: deleted");
    let gone = format!("{f} (deleted)");
    assert!(
        !held(child, &s).contains(&gone),
        "{mpm}: a deleted file's descriptor is still held: {:?}",
        held(child, &s)
    );
    // And back.
    put(&s, "f.txt", "back\n");
    assert_eq!(body(&s, "/f.txt").1, "back\n", "{mpm}: recreated");
}

#[test]
fn prefork_serves_files_changed_under_the_cache_exactly() {
    scenario("prefork");
}

#[test]
fn worker_serves_files_changed_under_the_cache_exactly() {
    scenario("worker");
}

#[test]
fn event_serves_files_changed_under_the_cache_exactly() {
    scenario("event");
}
