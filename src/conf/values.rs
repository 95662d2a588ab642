//! Pure value parsers for directive arguments: flags, numbers, durations, `Options`,
//! `FileETag`, redirects, listen and virtual-host addresses.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use rhttpd_config::{ConfigError, Directive, Location};

use super::{FileETag, Listen, Options, OptionsEdit, Redirect, SectionRedirect, VhostAddr};

pub(super) fn err(loc: &Location, msg: impl Into<String>) -> ConfigError {
    ConfigError::at(loc, msg)
}

pub(super) fn flag(d: &Directive) -> bool {
    d.args.first().is_some_and(|a| a.eq_ignore_ascii_case("on"))
}

pub(super) fn number<T: std::str::FromStr>(d: &Directive, what: &str) -> Result<T, ConfigError> {
    let a = d.args.first().map(String::as_str).unwrap_or("");
    a.trim().parse::<T>().map_err(|_| {
        err(
            &d.location,
            format!("{} argument '{a}' is not a valid {what}", d.name),
        )
    })
}

/// `Timeout`-style values: seconds, or with a unit suffix (`ms`, `s`, `mi`, `h`) as
/// Apache's ap_timeout_parameter_parse accepts.
pub(super) fn duration(d: &Directive) -> Result<Duration, ConfigError> {
    let a = d.args.first().map(String::as_str).unwrap_or("").trim();
    let split = a.find(|c: char| !c.is_ascii_digit()).unwrap_or(a.len());
    let (num, unit) = a.split_at(split);
    let n: u64 = num.parse().map_err(|_| {
        err(
            &d.location,
            format!("{} argument '{a}' is not a valid time", d.name),
        )
    })?;
    let dur = match unit.to_ascii_lowercase().as_str() {
        "" | "s" => Duration::from_secs(n),
        "ms" => Duration::from_millis(n),
        "mi" => Duration::from_secs(n.saturating_mul(60)),
        "h" => Duration::from_secs(n.saturating_mul(3600)),
        _ => {
            return Err(err(
                &d.location,
                format!("{} argument '{a}' is not a valid time", d.name),
            ));
        }
    };
    Ok(dur)
}

pub(super) fn parse_options(d: &Directive) -> Result<OptionsEdit, ConfigError> {
    let mut set = Options {
        follow_symlinks: false,
        ..Options::default()
    };
    let mut add = Options::default();
    let mut remove = Options::default();
    let mut relative = None;
    for a in &d.args {
        let (sign, word) = match a.as_bytes().first() {
            Some(b'+') => (Some(true), &a[1..]),
            Some(b'-') => (Some(false), &a[1..]),
            _ => (None, a.as_str()),
        };
        match (relative, sign.is_some()) {
            (Some(true), false) | (Some(false), true) => {
                return Err(err(
                    &d.location,
                    "Either all Options must start with + or -, or no Option may.",
                ));
            }
            _ => relative = Some(sign.is_some()),
        }
        let target = match sign {
            Some(true) => &mut add,
            Some(false) => &mut remove,
            None => &mut set,
        };
        match word.to_ascii_lowercase().as_str() {
            "indexes" => target.indexes = true,
            "followsymlinks" => target.follow_symlinks = true,
            "symlinksifownermatch" => target.symlinks_if_owner_match = true,
            "execcgi" => target.exec_cgi = true,
            "includes" | "includesnoexec" => target.includes = true,
            "multiviews" => target.multiviews = true,
            "all" => {
                target.indexes = true;
                target.follow_symlinks = true;
                target.symlinks_if_owner_match = true;
                target.exec_cgi = true;
                target.includes = true;
            }
            "none" if sign.is_none() => {}
            _ => {
                return Err(err(&d.location, format!("Illegal option {word}")));
            }
        }
    }
    Ok(if relative == Some(true) {
        OptionsEdit::Relative { add, remove }
    } else {
        OptionsEdit::Set(set)
    })
}

pub(super) fn parse_file_etag(d: &Directive) -> Result<FileETag, ConfigError> {
    let mut e = FileETag {
        inode: false,
        mtime: false,
        size: false,
    };
    for a in &d.args {
        let (sign, word) = match a.as_bytes().first() {
            Some(b'+') => (Some(true), &a[1..]),
            Some(b'-') => (Some(false), &a[1..]),
            _ => (None, a.as_str()),
        };
        if sign.is_some()
            && e == (FileETag {
                inode: false,
                mtime: false,
                size: false,
            })
        {
            e = FileETag::DEFAULT;
        }
        let on = sign.unwrap_or(true);
        match word.to_ascii_lowercase().as_str() {
            "inode" => e.inode = on,
            "mtime" => e.mtime = on,
            "size" => e.size = on,
            "all" => {
                e = FileETag {
                    inode: true,
                    mtime: true,
                    size: true,
                }
            }
            "none" => {
                e = FileETag {
                    inode: false,
                    mtime: false,
                    size: false,
                }
            }
            _ => {
                return Err(err(
                    &d.location,
                    format!("Unknown keyword '{word}' for FileETag"),
                ));
            }
        }
    }
    Ok(e)
}

pub(super) fn parse_redirect(d: &Directive) -> Result<Redirect, ConfigError> {
    let mut args: Vec<&str> = d.args.iter().map(String::as_str).collect();
    let status = match d.name {
        "RedirectPermanent" => 301,
        "RedirectTemp" => 302,
        _ => {
            let first = args.first().copied().unwrap_or("");
            let s = match first.to_ascii_lowercase().as_str() {
                "permanent" => Some(301),
                "temp" => Some(302),
                "seeother" => Some(303),
                "gone" => Some(410),
                x if x.len() == 3 && x.bytes().all(|b| b.is_ascii_digit()) => x.parse().ok(),
                _ => None,
            };
            if s.is_some() {
                args.remove(0);
            }
            s.unwrap_or(302)
        }
    };
    let url = args.first().copied().unwrap_or("").to_string();
    let target = args.get(1).map(|s| s.to_string());
    if (300..400).contains(&status) && target.is_none() {
        return Err(err(&d.location, "URL to redirect to is missing"));
    }
    if let Some(t) = &target
        && (300..400).contains(&status)
        && !is_url(t)
        && !t.starts_with('/')
    {
        return Err(err(&d.location, "Redirect to non-URL"));
    }
    if !(300..400).contains(&status) && target.is_some() {
        return Err(err(&d.location, "Redirect URL not valid for this status"));
    }
    Ok(Redirect {
        status,
        url,
        target,
        regex: None,
    })
}

/// mod_alias's reading of a Redirect's first argument as a status: `permanent` 301,
/// `temp` 302, `seeother` 303, `gone` 410, or a number (`atoi` of what starts with a
/// digit); `None` when it is not one.
/// `ap_is_url`: a scheme (letters, digits, `+ - .`) and a colon.
pub fn is_url(u: &str) -> bool {
    match u.split_once(':') {
        Some((scheme, _)) => {
            !scheme.is_empty()
                && scheme
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'))
        }
        None => false,
    }
}

pub(super) fn redirect_status_word(arg: &str) -> Option<u16> {
    match arg.to_ascii_lowercase().as_str() {
        "permanent" => Some(301),
        "temp" => Some(302),
        "seeother" => Some(303),
        "gone" => Some(410),
        x if x.starts_with(|c: char| c.is_ascii_digit()) => Some(atoi(x).min(999) as u16),
        _ => None,
    }
}

/// `Redirect`/`RedirectPermanent`/`RedirectTemp` inside a `<Directory>`/`<Location>`
/// section, as mod_alias's add_redirect_internal reads it there: with the URL path left
/// out (`Redirect /new`, `Redirect permanent /new`, `Redirect gone`) it redirects every
/// request the section matches (`Err`); otherwise it is the usual `URL-path URL` form,
/// matched against the request's URL path (`Ok`).
pub(super) fn parse_section_redirect(
    d: &Directive,
) -> Result<Result<Redirect, SectionRedirect>, ConfigError> {
    let a = |i: usize| d.args.get(i).map(String::as_str);
    let arg1 = a(0).unwrap_or("");
    let mut status = if d.name == "RedirectPermanent" {
        301
    } else {
        302
    };
    let grok = redirect_status_word(arg1);
    if let Some(s) = grok {
        status = s;
    }
    if a(2).is_some() && grok.is_none() {
        return Err(err(
            &d.location,
            "Redirect: invalid first argument (of three)",
        ));
    }
    let one = match (grok, a(1), a(2)) {
        (Some(s), Some(url), None) if s != 410 => Some(Some(url.to_string())),
        (Some(410), None, _) => Some(None),
        (None, None, _) => Some(Some(arg1.to_string())),
        _ => None,
    };
    match one {
        Some(target) => Ok(Err(SectionRedirect { status, target })),
        None => parse_redirect(d).map(Ok),
    }
}

pub(super) fn parse_listen(d: &Directive) -> Result<Listen, ConfigError> {
    let a0 = d.args[0].as_str();
    let addr = parse_host_port(a0).ok_or_else(|| {
        if a0.rsplit_once(':').is_none() && a0.parse::<u16>().is_err() {
            err(&d.location, "Port must be specified")
        } else {
            err(&d.location, format!("Invalid address or port: {a0}"))
        }
    })?;
    let protocol = d
        .args
        .get(1)
        .map(|p| p.to_ascii_lowercase())
        .unwrap_or_else(|| {
            if addr.port() == 443 {
                "https".into()
            } else {
                "http".into()
            }
        });
    Ok(Listen {
        addr,
        protocol,
        location: d.location.clone(),
    })
}

/// `80`, `0.0.0.0:80`, `127.0.0.1:8080`, `[::1]:80`, `[::]:80`.
fn parse_host_port(s: &str) -> Option<SocketAddr> {
    if let Ok(port) = s.parse::<u16>() {
        return (port != 0).then(|| SocketAddr::new(IpAddr::from([0, 0, 0, 0]), port));
    }
    if let Ok(a) = s.parse::<SocketAddr>() {
        return Some(a);
    }
    let (host, port) = s.rsplit_once(':')?;
    let port: u16 = port.parse().ok()?;
    let ip: IpAddr = if host == "*" {
        IpAddr::from([0, 0, 0, 0])
    } else if host.eq_ignore_ascii_case("localhost") {
        IpAddr::from([127, 0, 0, 1])
    } else {
        host.trim_start_matches('[')
            .trim_end_matches(']')
            .parse()
            .ok()?
    };
    Some(SocketAddr::new(ip, port))
}

pub(super) fn parse_vhost_addr(a: &str, loc: &Location) -> Result<VhostAddr, ConfigError> {
    let bad = || {
        err(
            loc,
            format!(
                "Invalid address for <VirtualHost>: {a} (rhttpd needs numeric addresses, * or _default_)"
            ),
        )
    };
    let (host, port) = if let Some(rest) = a.strip_prefix('[') {
        let (h, p) = rest.split_once(']').ok_or_else(bad)?;
        (h, p.strip_prefix(':'))
    } else if a.matches(':').count() > 1 {
        (a, None)
    } else {
        match a.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (a, None),
        }
    };
    let ip = match host {
        "*" | "_default_" => None,
        h if h.eq_ignore_ascii_case("localhost") => Some(IpAddr::from([127, 0, 0, 1])),
        h => Some(h.parse::<IpAddr>().map_err(|_| bad())?),
    };
    let port = match port {
        None | Some("*") => None,
        Some(p) => Some(p.parse::<u16>().map_err(|_| bad())?),
    };
    Ok(VhostAddr { ip, port })
}

/// Apache's atoi: optional sign and leading digits; anything else → 0.
pub fn atoi(s: &str) -> i64 {
    let s = s.trim_start();
    let (neg, digits) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let mut n: i64 = 0;
    for b in digits.bytes() {
        if !b.is_ascii_digit() {
            break;
        }
        n = n.saturating_mul(10).saturating_add(i64::from(b - b'0'));
    }
    if neg { -n } else { n }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir(name: &'static str, args: &[&str]) -> Directive {
        Directive {
            name,
            args: args.iter().map(|a| a.to_string()).collect(),
            location: Location::new("test.conf", 1),
        }
    }

    #[test]
    fn flag_is_on_only_for_on() {
        assert!(flag(&dir("KeepAlive", &["On"])));
        assert!(!flag(&dir("KeepAlive", &["Off"])));
        assert!(!flag(&dir("KeepAlive", &[])));
    }

    #[test]
    fn number_parses_or_names_the_directive() {
        assert_eq!(
            number::<u32>(&dir("ListenBacklog", &[" 42 "]), "number").unwrap(),
            42
        );
        let e = number::<u32>(&dir("ListenBacklog", &["x"]), "number").unwrap_err();
        assert!(
            e.to_string()
                .contains("ListenBacklog argument 'x' is not a valid number")
        );
    }

    #[test]
    fn section_redirect_forms() {
        let p = |name: &'static str, a: &[&str]| parse_section_redirect(&dir(name, a));
        let one = |status, t: Option<&str>| {
            Ok(Err(SectionRedirect {
                status,
                target: t.map(str::to_string),
            }))
        };
        assert_eq!(p("Redirect", &["/new"]), one(302, Some("/new")));
        assert_eq!(
            p("Redirect", &["permanent", "/new"]),
            one(301, Some("/new"))
        );
        assert_eq!(p("Redirect", &["303", "/x"]), one(303, Some("/x")));
        assert_eq!(p("Redirect", &["gone"]), one(410, None));
        assert_eq!(
            p("RedirectPermanent", &["/a", "http://h/b"]),
            Ok(Ok(Redirect {
                status: 301,
                url: "/a".into(),
                target: Some("http://h/b".into()),
                regex: None,
            }))
        );
        assert_eq!(
            p("Redirect", &["temp", "/a", "/b"])
                .unwrap()
                .unwrap()
                .target,
            Some("/b".to_string())
        );
        let e = p("Redirect", &["/x", "/a", "/b"]).unwrap_err();
        assert!(e.to_string().contains("invalid first argument (of three)"));
    }

    #[test]
    fn duration_units() {
        let t = |a: &str| duration(&dir("Timeout", &[a]));
        assert_eq!(t("60").unwrap(), Duration::from_secs(60));
        assert_eq!(t("5s").unwrap(), Duration::from_secs(5));
        assert_eq!(t("250ms").unwrap(), Duration::from_millis(250));
        assert_eq!(t("2MI").unwrap(), Duration::from_secs(120));
        assert_eq!(t("1h").unwrap(), Duration::from_secs(3600));
        assert!(t("").is_err());
        assert!(t("5d").is_err());
        assert!(t("-1").is_err());
    }

    #[test]
    fn options_absolute_and_relative() {
        let set = parse_options(&dir("Options", &["Indexes", "ExecCGI"])).unwrap();
        assert_eq!(
            set,
            OptionsEdit::Set(Options {
                indexes: true,
                exec_cgi: true,
                ..Options::default()
            })
        );
        assert_eq!(
            parse_options(&dir("Options", &["None"])).unwrap(),
            OptionsEdit::Set(Options::default())
        );
        let rel = parse_options(&dir("Options", &["+Indexes", "-FollowSymLinks"])).unwrap();
        assert_eq!(
            rel,
            OptionsEdit::Relative {
                add: Options {
                    indexes: true,
                    ..Options::default()
                },
                remove: Options {
                    follow_symlinks: true,
                    ..Options::default()
                },
            }
        );
        assert!(parse_options(&dir("Options", &["+Indexes", "ExecCGI"])).is_err());
        assert!(parse_options(&dir("Options", &["Bogus"])).is_err());
        assert!(parse_options(&dir("Options", &["-None"])).is_err());
    }

    #[test]
    fn file_etag_keywords() {
        let f = |args: &[&str]| parse_file_etag(&dir("FileETag", args));
        let all = FileETag {
            inode: true,
            mtime: true,
            size: true,
        };
        assert_eq!(f(&["All"]).unwrap(), all);
        assert_eq!(
            f(&["MTime"]).unwrap(),
            FileETag {
                inode: false,
                mtime: true,
                size: false,
            }
        );
        // Relative edits start from the default (MTime Size).
        assert_eq!(f(&["+INode"]).unwrap(), all);
        assert_eq!(
            f(&["-Size"]).unwrap(),
            FileETag {
                inode: false,
                mtime: true,
                size: false,
            }
        );
        assert!(f(&["Digest"]).is_err());
    }

    #[test]
    fn redirect_statuses() {
        let r = |name, args: &[&str]| parse_redirect(&dir(name, args));
        let x = r("Redirect", &["/a", "http://h/b"]).unwrap();
        assert_eq!((x.status, x.url.as_str()), (302, "/a"));
        assert_eq!(x.target.as_deref(), Some("http://h/b"));
        assert_eq!(
            r("Redirect", &["permanent", "/a", "/b"]).unwrap().status,
            301
        );
        assert_eq!(
            r("Redirect", &["seeother", "/a", "/b"]).unwrap().status,
            303
        );
        assert_eq!(r("Redirect", &["307", "/a", "/b"]).unwrap().status, 307);
        let gone = r("Redirect", &["gone", "/a"]).unwrap();
        assert_eq!((gone.status, gone.target), (410, None));
        assert_eq!(r("RedirectPermanent", &["/a", "/b"]).unwrap().status, 301);
        assert_eq!(r("RedirectTemp", &["/a", "/b"]).unwrap().status, 302);
        assert!(r("Redirect", &["/a"]).is_err());
        assert!(r("Redirect", &["gone", "/a", "/b"]).is_err());
        let e = r("Redirect", &["/a", "elsewhere"]).unwrap_err();
        assert!(e.to_string().contains("Redirect to non-URL"));
        assert!(r("Redirect", &["/a", "mailto:x@example.org"]).is_ok());
    }

    #[test]
    fn listen_addresses_and_protocols() {
        let l = parse_listen(&dir("Listen", &["8080"])).unwrap();
        assert_eq!(l.addr, "0.0.0.0:8080".parse().unwrap());
        assert_eq!(l.protocol, "http");
        assert_eq!(
            parse_listen(&dir("Listen", &["443"])).unwrap().protocol,
            "https"
        );
        let l = parse_listen(&dir("Listen", &["[::1]:80", "HTTPS"])).unwrap();
        assert_eq!(
            (l.addr, l.protocol.as_str()),
            ("[::1]:80".parse().unwrap(), "https")
        );
        let e = parse_listen(&dir("Listen", &["example"])).unwrap_err();
        assert!(e.to_string().contains("Port must be specified"));
        let e = parse_listen(&dir("Listen", &["1.2.3:80"])).unwrap_err();
        assert!(e.to_string().contains("Invalid address or port"));
    }

    #[test]
    fn host_port_forms() {
        let p = |s| parse_host_port(s);
        assert_eq!(p("80"), Some("0.0.0.0:80".parse().unwrap()));
        assert_eq!(p("0"), None);
        assert_eq!(p("127.0.0.1:8080"), Some("127.0.0.1:8080".parse().unwrap()));
        assert_eq!(p("[::]:80"), Some("[::]:80".parse().unwrap()));
        assert_eq!(p("*:81"), Some("0.0.0.0:81".parse().unwrap()));
        assert_eq!(p("localhost:82"), Some("127.0.0.1:82".parse().unwrap()));
        assert_eq!(p("host.example:80"), None);
        assert_eq!(p("1.2.3.4:x"), None);
    }

    #[test]
    fn vhost_addr_forms() {
        let loc = Location::new("test.conf", 1);
        let v = |s| parse_vhost_addr(s, &loc);
        let a = |ip: Option<&str>, port| VhostAddr {
            ip: ip.map(|i| i.parse().unwrap()),
            port,
        };
        assert_eq!(v("*:80").unwrap(), a(None, Some(80)));
        assert_eq!(v("_default_").unwrap(), a(None, None));
        assert_eq!(v("127.0.0.1:*").unwrap(), a(Some("127.0.0.1"), None));
        assert_eq!(
            v("localhost:8080").unwrap(),
            a(Some("127.0.0.1"), Some(8080))
        );
        assert_eq!(v("[::1]:80").unwrap(), a(Some("::1"), Some(80)));
        assert_eq!(v("[::1]").unwrap(), a(Some("::1"), None));
        assert_eq!(v("::1").unwrap(), a(Some("::1"), None));
        assert!(v("www.example.com:80").is_err());
        assert!(v("[::1").is_err());
        assert!(v("*:http").is_err());
    }
}
