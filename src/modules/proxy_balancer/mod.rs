//! mod_proxy_balancer: a `ProxyPass` to `balancer://name` picks one member of the
//! balancer per request and hands the request to mod_proxy_http (or mod_proxy_fcgi)
//! for that member, failing over to another member when it cannot be reached.
//!
//! Shared state: every balancer's runtime state (member status bits, error time,
//! lbstatus, load factor, lbset, elected/busy counts, bytes each way, health-check
//! counters, the balancer-manager's nonce and live settings) is a block of `AtomicU64`
//! words in anonymous `MAP_SHARED` memory ([`rhttpd_sys::SharedWords`], `state.rs`)
//! that the parent maps while it builds the generation, before any child is forked:
//! every prefork child and every thread of every worker/event child reads and writes
//! the same words. Choosing a
//! member (Apache's balancer mutex) takes a spin lock word in the block; the lock is
//! held for microseconds, and a holder that has not let go after 50 ms (it died, or was
//! descheduled that long) is overtaken: the cost is a skewed count, never a stuck
//! server.
//!
//! Graceful restart: the parent keeps each balancer's block keyed by its definition
//! ([`crate::conf::balancer::Balancer::fingerprint`]); a new generation whose balancer is defined the same way
//! continues with the same block (errors, counters and balancer-manager changes
//! survive), a changed definition starts fresh.
//!
//! The algorithms are Apache's (`proxy_util.c`'s `ap_proxy_balancer_get_best_worker`
//! and the three lbmethod modules): members are taken lbset by lbset; hot spares
//! replace unusable members of their set; hot standbys are used only when no other
//! member of the set is usable.

use std::io::Read;
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Instant;

use http::header;
use rhttpd_http::StatusCode;

use super::proxy_backend::log;
use crate::conf::balancer::{LbMethod, Member, status};
use crate::conf::proxy::{Backend, ProxyRule, Scheme};
use crate::handler::{Body, Request, RequestBody, Response};
use crate::log::Level;

mod state;

pub(crate) use state::*;

/// Apache's `ap_proxy_balancer_get_best_worker`: lbset by lbset, usable members first
/// (hot spares standing in for unusable ones), hot standbys last. `is_best(current,
/// best)` is the lbmethod's comparison.
fn get_best(sh: &Shared, mut is_best: impl FnMut(usize, Option<usize>) -> bool) -> Option<usize> {
    let n = sh.cfg.members.len();
    let mut best = None;
    let mut max_lbset = 0;
    let mut cur = 0;
    while best.is_none() && cur <= max_lbset {
        let mut unusable = 0;
        let mut spares = Vec::new();
        let mut standbys = Vec::new();
        for i in 0..n {
            let lbset = sh.load(i, M_LBSET);
            max_lbset = max_lbset.max(lbset);
            if lbset != cur {
                continue;
            }
            let st = sh.status(i);
            if st & status::DRAIN != 0 {
                if st & (status::HOT_SPARE | status::HOT_STANDBY) == 0 {
                    unusable += 1;
                }
                continue;
            }
            if !sh.usable(i) {
                sh.retry(i);
            }
            let st = sh.status(i);
            if st & status::HOT_SPARE != 0 {
                if sh.usable(i) {
                    spares.push(i);
                }
            } else if st & status::HOT_STANDBY != 0 {
                if sh.usable(i) {
                    standbys.push(i);
                }
            } else if sh.usable(i) {
                if is_best(i, best) {
                    best = Some(i);
                }
            } else {
                unusable += 1;
            }
        }
        for &i in spares.iter().take(unusable) {
            if is_best(i, best) {
                best = Some(i);
            }
        }
        if best.is_none() {
            for &i in &standbys {
                if is_best(i, best) {
                    best = Some(i);
                }
            }
        }
        cur += 1;
    }
    best
}

/// The lbmethod's choice (called with the balancer locked).
fn find_best(sh: &Shared) -> Option<usize> {
    match sh.lbmethod() {
        LbMethod::ByRequests | LbMethod::Heartbeat => {
            let mut total = 0i64;
            let best = get_best(sh, |i, best| {
                let f = sh.load(i, M_LBFACTOR) as i64;
                sh.add_lbstatus(i, f);
                total += f;
                best.is_none_or(|b| sh.lbstatus(i) > sh.lbstatus(b))
            });
            if let Some(b) = best {
                sh.add_lbstatus(b, -total);
            }
            best
        }
        LbMethod::ByBusyness => {
            let mut total = 0i64;
            let best = get_best(sh, |i, best| {
                let f = sh.load(i, M_LBFACTOR) as i64;
                sh.add_lbstatus(i, f);
                total += f;
                match best {
                    None => true,
                    Some(b) => {
                        let (bi, bb) = (sh.load(i, M_BUSY), sh.load(b, M_BUSY));
                        bi < bb || (bi == bb && sh.lbstatus(i) > sh.lbstatus(b))
                    }
                }
            });
            if let Some(b) = best {
                sh.add_lbstatus(b, -total);
            }
            best
        }
        LbMethod::ByTraffic => {
            let mut min = u64::MAX;
            get_best(sh, |i, best| {
                let f = sh.load(i, M_LBFACTOR).max(1);
                let t = sh.load(i, M_TRANSFERRED) / f + sh.load(i, M_READ) / f;
                if best.is_none() || t < min {
                    min = t;
                    true
                } else {
                    false
                }
            })
        }
    }
}

/// Apache's `force_recovery`: when every member is in error state (and
/// `forcerecovery` is on), clear the error state of all of them.
fn force_recovery(sh: &Shared) {
    let n = sh.cfg.members.len();
    for i in 0..n {
        if sh.status(i) & status::IN_ERROR == 0 {
            return;
        }
        sh.retry(i);
        if sh.status(i) & status::IN_ERROR == 0 {
            return;
        }
    }
    if sh.forcerecovery() {
        for i in 0..n {
            sh.m(i, M_RETRIES).fetch_add(1, Relaxed);
            sh.clear_bits(i, status::IN_ERROR);
        }
    }
}

/// `name=value` in the URL (Apache's `get_path_param`): the value up to `?`, `&` (and
/// `;` with `scolon`).
pub fn path_param<'a>(url: &'a str, name: &str, scolon: bool) -> Option<&'a str> {
    if name.is_empty() {
        return None;
    }
    let mut from = 0;
    while let Some(i) = url[from..].find(name) {
        let at = from + i + name.len();
        if let Some(rest) = url[at..].strip_prefix('=')
            && !rest.is_empty()
        {
            let end = rest
                .find(|c| c == '?' || c == '&' || (scolon && c == ';'))
                .unwrap_or(rest.len());
            if end > 0 {
                return Some(&rest[..end]);
            }
        }
        // Past the first character of this match (a whole character: the URL may
        // hold any UTF-8).
        from += i + url[from + i..].chars().next().map_or(1, char::len_utf8);
    }
    None
}

/// The value of cookie `name` (Apache's `get_cookie_param`).
pub fn cookie_param(cookies: &str, name: &str) -> Option<String> {
    if name.is_empty() {
        return None;
    }
    let mut from = 0;
    while let Some(i) = cookies[from..].find(name) {
        let start = from + i;
        let before = cookies[..start].chars().last();
        if before.is_none_or(|c| c == ';' || c == ',' || c.is_ascii_whitespace()) {
            let rest = cookies[start + name.len()..].trim_start();
            if let Some(v) = rest.strip_prefix('=')
                && !v.is_empty()
            {
                let end = v.find([';', ',']).unwrap_or(v.len());
                return Some(v[..end].to_string());
            }
        }
        from = start + cookies[start..].chars().next().map_or(1, char::len_utf8);
    }
    None
}

/// The route a request asks for: the session id from the URL parameter or cookie,
/// after the first `stickysessionsep`.
fn session_route(sh: &Shared, req: &Request<'_>) -> Option<String> {
    let (cookie, url_name) = sh.sticky()?;
    let mut url = req.head.path.clone();
    if let Some(q) = &req.head.query {
        url.push('?');
        url.push_str(q);
    }
    let value = path_param(&url, &url_name, sh.cfg.params.scolon)
        .map(str::to_string)
        .or_else(|| {
            let all: Vec<&str> = req
                .head
                .headers
                .get_all(header::COOKIE)
                .iter()
                .filter_map(|v| v.to_str().ok())
                .collect();
            cookie_param(&all.join("; "), &cookie)
        })?;
    let sep = sh.cfg.params.sticky_sep;
    let route = if sep == 0 {
        value
    } else {
        let i = value.find(sep as char)?;
        value[i + 1..].to_string()
    };
    (!route.is_empty()).then_some(route)
}

/// Apache's `find_route_worker`: the usable member with `route` (standbys second),
/// following `redirect=` of an unusable one.
fn route_member(sh: &Shared, route: &str, recursion: usize) -> Option<usize> {
    for standby in [false, true] {
        for i in 0..sh.cfg.members.len() {
            if (sh.status(i) & status::HOT_STANDBY != 0) != standby {
                continue;
            }
            if sh.route(i) != route {
                continue;
            }
            if !sh.usable(i) {
                sh.retry(i);
            }
            if sh.usable(i) {
                return Some(i);
            }
            let redirect = sh.redirect(i);
            if !redirect.is_empty()
                && recursion < sh.cfg.members.len()
                && let Some(r) = route_member(sh, &redirect, recursion + 1)
            {
                if !sh.usable(r) {
                    sh.retry(r);
                }
                if sh.usable(r) {
                    return Some(r);
                }
            }
        }
    }
    None
}

/// Apache's `proxy_balancer_pre_request` + `find_best_worker`: the member for this
/// attempt (`None`: answer 503).
fn choose(sh: &Shared, req: &Request<'_>) -> Option<usize> {
    let route = session_route(sh, req);
    {
        let _g = sh.lock();
        sh.reset_if_needed();
        force_recovery(sh);
        if let Some(r) = &route {
            if let Some(i) = route_member(sh, r, 1) {
                // Sticky hit: the other members' lbstatus moves as if elected.
                let mut total = 0i64;
                for j in 0..sh.cfg.members.len() {
                    if sh.usable(j) {
                        let f = sh.load(j, M_LBFACTOR) as i64;
                        sh.add_lbstatus(j, f);
                        total += f;
                    }
                }
                sh.add_lbstatus(i, -total);
                sh.m(i, M_ELECTED).fetch_add(1, Relaxed);
                sh.m(i, M_BUSY).fetch_add(1, Relaxed);
                return Some(i);
            }
            if sh.nofailover() && (0..sh.cfg.members.len()).any(|j| sh.route(j) == *r) {
                log(
                    req,
                    Level::Error,
                    &format!(
                        "AH01161: {}: All workers are in error state for route ({r})",
                        sh.cfg.name
                    ),
                );
                return None;
            }
        }
        if let Some(i) = find_best(sh) {
            sh.m(i, M_ELECTED).fetch_add(1, Relaxed);
            sh.m(i, M_BUSY).fetch_add(1, Relaxed);
            return Some(i);
        }
    }
    // Balancer `timeout=`: wait for a member to become usable, in 100 steps.
    let timeout = sh.timeout();
    if !timeout.is_zero() {
        let step = timeout / 100;
        let start = Instant::now();
        while start.elapsed() < timeout {
            std::thread::sleep(step);
            let _g = sh.lock();
            if let Some(i) = find_best(sh) {
                sh.m(i, M_ELECTED).fetch_add(1, Relaxed);
                sh.m(i, M_BUSY).fetch_add(1, Relaxed);
                return Some(i);
            }
        }
    }
    if sh.cfg.members.is_empty() {
        log(
            req,
            Level::Error,
            &format!("AH01168: {}: No workers in balancer", sh.cfg.name),
        );
    } else {
        log(
            req,
            Level::Error,
            &format!("AH01167: {}: All workers are in error state", sh.cfg.name),
        );
    }
    None
}

/// Decrements a member's busy count once (when the response is finished).
struct Busy {
    sh: Arc<Shared>,
    member: usize,
}

impl Drop for Busy {
    fn drop(&mut self) {
        let _ = self
            .sh
            .m(self.member, M_BUSY)
            .fetch_update(Relaxed, Relaxed, |b| b.checked_sub(1));
    }
}

/// A member's response body: counts the bytes read from the backend and keeps the
/// member busy until the body is done.
struct Counted {
    inner: Box<dyn Read + Send>,
    busy: Busy,
}

impl Read for Counted {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.busy
            .sh
            .m(self.busy.member, M_READ)
            .fetch_add(n as u64, Relaxed);
        Ok(n)
    }
}

/// What the protocol modules need to know from mod_proxy's handler.
pub struct Protocols {
    pub http: bool,
    pub fcgi: bool,
}

fn member_path(m: &Member) -> &str {
    let b = &m.backend;
    if b.path == "/" && !b.url.ends_with('/') {
        ""
    } else {
        &b.path
    }
}

/// `ProxyPass` to a balancer: choose a member, forward, fail over (Apache's
/// `proxy_handler` loop with `maxattempts`). `raw_rest` is the rest of the URL after
/// the rule's path with the query; `decoded_rest` the decoded rest (FastCGI).
pub fn serve(
    reg: &Arc<Registry>,
    protocols: &Protocols,
    req: &Request<'_>,
    body: &mut RequestBody<'_>,
    rule: &ProxyRule,
    raw_rest: &str,
    decoded_rest: &str,
) -> Response {
    let Some(target) = &rule.balancer else {
        return Response::error(StatusCode::NOT_FOUND);
    };
    let Some((name, bpath)) = crate::conf::balancer::split_url(&target.url) else {
        return Response::error(StatusCode::INTERNAL_SERVER_ERROR);
    };
    let Some(sh) = req.vhost.balancers.find(&name).and_then(|b| reg.get(b)) else {
        log(
            req,
            Level::Error,
            &format!("AH01168: {name}: No workers in balancer"),
        );
        return Response::error(StatusCode::SERVICE_UNAVAILABLE);
    };
    let max_attempts = sh.max_attempts();
    let mut attempts = 0;
    loop {
        let Some(i) = choose(sh, req) else {
            return Response::error(StatusCode::SERVICE_UNAVAILABLE);
        };
        let busy = Busy {
            sh: sh.clone(),
            member: i,
        };
        let m = &sh.cfg.members[i];
        if let rhttpd_http::BodyFraming::Length(n) = req.head.body {
            sh.m(i, M_TRANSFERRED).fetch_add(n, Relaxed);
        }
        let resp = forward(protocols, req, body, m, &bpath, raw_rest, decoded_rest);
        let generated = resp.error_page;
        let code = resp.status.as_u16();
        if generated && (code == 503 || code == 500) {
            // No connection (503: another member may do) or an unrecoverable error.
            if sh.status(i) & status::IGNORE_ERRORS == 0 {
                sh.mark_error(i);
            }
            if code == 503 && sh.status(i) & status::IGNORE_ERRORS == 0 {
                log(
                    req,
                    Level::Error,
                    &format!(
                        "AH00959: ap_proxy_connect_backend disabling worker for ({}) for {}s",
                        m.backend.key(),
                        m.retry.as_secs()
                    ),
                );
            }
            drop(busy);
            // mod_proxy_http connects before it reads the client's body, so its 503
            // leaves the body for the next member; mod_proxy_fcgi's may not.
            let body_untouched =
                req.head.body == rhttpd_http::BodyFraming::None || m.backend.scheme != Scheme::Fcgi;
            if code == 503 && !sh.usable(i) && attempts < max_attempts && body_untouched {
                attempts += 1;
                continue;
            }
            return resp;
        }
        if sh.cfg.params.failonstatus.contains(&code)
            || (generated && code == 504 && sh.cfg.params.failontimeout)
        {
            sh.mark_error(i);
            log(
                req,
                Level::Error,
                &format!(
                    "AH01174: {}: Forcing worker ({}) into error state due to status code {code} matching 'failonstatus' balancer parameter",
                    sh.cfg.name, m.backend.url
                ),
            );
        }
        return track(resp, busy);
    }
}

/// Keep the member busy (and count its bytes) until the body has been sent.
fn track(mut resp: Response, busy: Busy) -> Response {
    resp.body = match std::mem::replace(&mut resp.body, Body::Empty) {
        Body::Stream(inner) => Body::Stream(Box::new(Counted { inner, busy })),
        Body::SizedStream { body, len } => Body::SizedStream {
            body: Box::new(Counted { inner: body, busy }),
            len,
        },
        Body::Bytes(b) => {
            busy.sh
                .m(busy.member, M_READ)
                .fetch_add(b.len() as u64, Relaxed);
            Body::Bytes(b)
        }
        other => other,
    };
    resp
}

fn forward(
    protocols: &Protocols,
    req: &Request<'_>,
    body: &mut RequestBody<'_>,
    m: &Member,
    bpath: &str,
    raw_rest: &str,
    decoded_rest: &str,
) -> Response {
    let backend: &Backend = &m.backend;
    match backend.scheme {
        Scheme::Http | Scheme::Https if protocols.http => {
            let mut target = format!("{}{bpath}{raw_rest}", member_path(m));
            if !target.starts_with('/') {
                target.insert(0, '/');
            }
            super::proxy_http::serve(req, body, backend, &target)
        }
        Scheme::Fcgi if protocols.fcgi => {
            let mut b = backend.clone();
            b.path = format!("{}{bpath}", member_path(m));
            if b.path.is_empty() {
                b.path.push('/');
            }
            super::proxy_fcgi::serve_proxypass(req, body, &b, decoded_rest)
        }
        _ => {
            log(
                req,
                Level::Warn,
                &format!(
                    "AH01144: No protocol handler was valid for the URL {} (scheme '{}'). If you are using a DSO version of mod_proxy, make sure the proxy submodules are included in the configuration using LoadModule.",
                    backend.url,
                    backend.url.split("://").next().unwrap_or("")
                ),
            );
            Response::error(StatusCode::INTERNAL_SERVER_ERROR)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_parameters() {
        assert_eq!(
            path_param("/app/x;jsessionid=abc.n2?x=1", "jsessionid", false),
            Some("abc.n2")
        );
        assert_eq!(
            path_param("/a?ROUTEID=.n1&b=2", "ROUTEID", false),
            Some(".n1")
        );
        assert_eq!(path_param("/a;s=x.n1;other", "s", true), Some("x.n1"));
        assert_eq!(path_param("/a", "s", false), None);
        assert_eq!(
            cookie_param("a=1; JSESSIONID=xyz.node2; b=2", "JSESSIONID").as_deref(),
            Some("xyz.node2")
        );
        assert_eq!(cookie_param("XJSESSIONID=1", "JSESSIONID"), None);
        assert_eq!(
            cookie_param("JSESSIONID = v,w", "JSESSIONID").as_deref(),
            Some(" v")
        );
    }

    /// fuzz/artifacts/balancer/crash-85f39984...: a match at a multi-byte character
    /// was stepped over by one byte (a panic on a char boundary); an empty name ran
    /// past the end.
    #[test]
    fn session_parameters_in_non_ascii_text() {
        let text = String::from_utf8_lossy(b"\xff\xff\xff\xff\xff\xff\xff)");
        let name = "\u{fffd}";
        assert_eq!(cookie_param(&text, name), None);
        assert_eq!(path_param(&text, name, false), None);
        assert_eq!(cookie_param("a=1", ""), None);
        assert_eq!(
            cookie_param("\u{e9}t\u{e9}=1; \u{e9}=v", "\u{e9}").as_deref(),
            Some("v")
        );
        assert_eq!(path_param("/\u{e9}\u{e9}=x", "\u{e9}", false), Some("x"));
    }

    fn balancer(members: &[(u64, u64, u64, &str)]) -> Shared {
        let loc = rhttpd_config::Location::new("test.conf", 1);
        let members = members
            .iter()
            .enumerate()
            .map(|(i, &(factor, lbset, st, route))| Member {
                backend: Arc::new(
                    Backend::parse(&format!("http://127.0.0.1:{}", 1000 + i)).unwrap(),
                ),
                retry: std::time::Duration::from_secs(60),
                route: route.to_string(),
                redirect: String::new(),
                loadfactor: factor * 100,
                lbset,
                status: st,
                hc: None,
                location: loc.clone(),
            })
            .collect();
        Shared::for_test(crate::conf::balancer::Balancer {
            name: "balancer://t".into(),
            members,
            params: Default::default(),
            location: loc,
        })
    }

    fn picks(sh: &Shared, n: usize) -> Vec<usize> {
        let mut counts = vec![0; sh.cfg.members.len()];
        for _ in 0..n {
            counts[find_best(sh).expect("a member")] += 1;
        }
        counts
    }

    #[test]
    fn lbsets_spares_and_standbys() {
        use status::*;
        // Set 1 only when set 0 has no usable member.
        let sh = balancer(&[(1, 0, 0, "a"), (1, 1, 0, "b")]);
        assert_eq!(picks(&sh, 4), vec![4, 0]);
        sh.set_bits(0, DISABLED);
        assert_eq!(picks(&sh, 4), vec![0, 4]);
        // A hot standby only when nothing else is usable; a spare stands in for an
        // unusable member.
        let sh = balancer(&[
            (1, 0, 0, "a"),
            (1, 0, HOT_STANDBY, "s"),
            (1, 0, HOT_SPARE, "r"),
        ]);
        assert_eq!(picks(&sh, 4), vec![4, 0, 0]);
        sh.mark_error(0);
        assert_eq!(picks(&sh, 4), vec![0, 0, 4]);
        sh.set_bits(2, STOPPED);
        assert_eq!(picks(&sh, 4), vec![0, 4, 0]);
        // An error older than retry= is retried.
        sh.clear_bits(1, INITIALIZED);
        sh.m(0, M_ERROR_TIME).store(now_ms() - 61_000, Relaxed);
        assert_eq!(picks(&sh, 2), vec![2, 0, 0]);
    }

    #[test]
    fn bybusyness_and_bytraffic() {
        let sh = balancer(&[(1, 0, 0, "a"), (1, 0, 0, "b")]);
        sh.set_lbmethod(LbMethod::ByBusyness);
        sh.m(0, M_BUSY).store(3, Relaxed);
        assert_eq!(picks(&sh, 3), vec![0, 3]);
        sh.set_lbmethod(LbMethod::ByTraffic);
        sh.m(1, M_READ).store(1000, Relaxed);
        sh.m(0, M_TRANSFERRED).store(10, Relaxed);
        assert_eq!(picks(&sh, 2), vec![2, 0]);
    }

    #[test]
    fn routes_and_redirects() {
        let sh = balancer(&[
            (1, 0, 0, "n1"),
            (1, 0, 0, "n2"),
            (1, 0, status::HOT_STANDBY, "n3"),
        ]);
        assert_eq!(route_member(&sh, "n2", 1), Some(1));
        assert_eq!(route_member(&sh, "n3", 1), Some(2));
        assert_eq!(route_member(&sh, "nx", 1), None);
        sh.set_bits(1, status::DISABLED);
        assert_eq!(route_member(&sh, "n2", 1), None);
        sh.set_route(1, true, "n1");
        assert_eq!(route_member(&sh, "n2", 1), Some(0));
        assert_eq!(sh.redirect(1), "n1");
    }

    proptest::proptest! {
        /// byrequests is exact weighted round robin: over sum(factors) choices every
        /// member is chosen as often as its factor.
        #[test]
        fn byrequests_is_weighted_round_robin(
            factors in proptest::collection::vec(1u64..=20, 1..6),
            rounds in 1usize..4,
        ) {
            let spec: Vec<(u64, u64, u64, &str)> = factors.iter().map(|&f| (f, 0, 0, "")).collect();
            let sh = balancer(&spec);
            let total: u64 = factors.iter().sum();
            let got = picks(&sh, total as usize * rounds);
            let want: Vec<usize> = factors.iter().map(|&f| f as usize * rounds).collect();
            proptest::prop_assert_eq!(got, want);
        }

        #[test]
        fn cookie_values_are_found(
            name in "[A-Za-z]{1,10}",
            value in "[a-z0-9.]{1,20}",
            before in "[a-z]{1,5}=[a-z0-9]{0,5}",
        ) {
            let header = format!("{before}; {name}={value}; z=1");
            let expected = if before.split('=').next() == Some(name.as_str()) {
                None
            } else {
                Some(value.clone())
            };
            if let Some(v) = expected {
                proptest::prop_assert_eq!(cookie_param(&header, &name), Some(v));
            }
        }

        #[test]
        fn path_values_end_at_delimiters(url in ".{0,60}", name in "[a-z]{1,4}", scolon in proptest::bool::ANY) {
            if let Some(v) = path_param(&url, &name, scolon) {
                proptest::prop_assert!(!v.is_empty());
                proptest::prop_assert!(!v.contains('?') && !v.contains('&'));
                proptest::prop_assert!(!scolon || !v.contains(';'));
                let needle = format!("{}={}", name, v);
                proptest::prop_assert!(url.contains(&needle));
            }
        }
    }
}
