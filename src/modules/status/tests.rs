//! Rendering tests from hand-filled scoreboards.

use super::report::{fmt_g, format_bytes, format_kbytes, format_time, show_time};
use super::*;
use crate::scoreboard::WorkerStatus::{self, *};

const NOW: u64 = 1_700_000_000_000_000;
const UPTIME: u64 = 3725; // 1 hour 2 minutes 5 seconds

fn env(extended: bool) -> Env {
    Env {
        tls: None,
        server_name: "www.example.org".into(),
        local_ip: "127.0.0.1".into(),
        local_port: 8080,
        now_micros: NOW,
        load: [0.5, 0.25, 0.125],
        extended,
    }
}

fn prefork_info() -> MpmInfo {
    let mut m = MpmInfo::prefork(4, 3);
    m.server_version = "rhttpd/0.1.0 (Unix)".into();
    m.server_built = "Mar  4 2025 10:11:12".into();
    m
}

/// A prefork board: ServerLimit 4, MaxRequestWorkers 3; slot 0 idle, 1 reading,
/// 2 in keep-alive, 3 unused.
fn prefork_board() -> Scoreboard {
    let sb = Scoreboard::create(4, 1).unwrap();
    let g = sb.global();
    g.set_running_generation(1);
    g.set_config_generation(2);
    g.set_restart_time(NOW - UPTIME * 1_000_000);
    g.set_children_user_micros(500_000);
    g.set_children_system_micros(250_000);
    for (slot, status) in [(0, Ready), (1, BusyRead), (2, BusyKeepalive)] {
        let pid = 100 + slot as i32;
        sb.process(slot).reset_for_new_child(pid, 1);
        let w = sb.worker(slot, 0);
        w.claim(pid, i64::from(pid), 1);
        w.set_status(status);
    }
    let w = sb.worker(1, 0);
    w.set_access_count(10);
    w.set_my_access_count(4);
    w.set_bytes_served(10 * 1024 + 500);
    w.set_duration_micros(2_500_000);
    w.set_cpu_user_micros(1_000_000);
    w.set_cpu_system_micros(250_000);
    w.set_request_info(
        "10.0.0.9",
        "www:80",
        "GET /<script>\"x\"</script>\u{1} HTTP/1.1",
        "HTTP/1.1",
    );
    let w = sb.worker(2, 0);
    w.set_access_count(5);
    w.set_bytes_served(2048);
    w.set_duration_micros(500_000);
    sb
}

fn report(sb: &Scoreboard, mpm: &MpmInfo, extended: bool) -> Report {
    Report::build(&sb.snapshot(), mpm, env(extended))
}

#[test]
fn printf_g_matches_c() {
    let cases: [(f64, usize, &str); 14] = [
        (0.0, 6, "0"),
        (2.0, 6, "2"),
        (0.5, 6, "0.5"),
        (100.0, 6, "100"),
        (819.2, 6, "819.2"),
        (1e-5, 6, "1e-05"),
        (0.0001, 6, "0.0001"),
        (1_234_567.0, 6, "1.23457e+06"),
        (999_999.5, 6, "1e+06"),
        (123_456.0, 6, "123456"),
        (0.004_026_845_637, 6, "0.00402685"),
        (0.142, 3, "0.142"),
        (123.456, 3, "123"),
        (1234.5, 3, "1.23e+03"),
    ];
    for (v, p, want) in cases {
        assert_eq!(fmt_g(v, p), want, "%.{p}g of {v}");
    }
    assert_eq!(fmt_g(-2.5, 6), "-2.5");
}

#[test]
fn apache_size_and_time_formats() {
    assert_eq!(format_bytes(0), "0 B");
    assert_eq!(format_bytes(5119), "5119 B");
    assert_eq!(format_bytes(5120), "5.0 kB");
    assert_eq!(format_bytes(600 * 1024), "0.6 MB");
    assert_eq!(format_bytes(3 << 30), "3.0 GB");
    assert_eq!(format_kbytes(12), "12 kB");
    assert_eq!(format_kbytes(2048), "2.0 MB");
    assert_eq!(format_kbytes(3 << 20), "3.0 GB");
    assert_eq!(show_time(0), "");
    assert_eq!(show_time(1), " 1 second");
    assert_eq!(show_time(UPTIME), " 1 hour 2 minutes 5 seconds");
    assert_eq!(show_time(2 * 86_400 + 60), " 2 days 1 minute");
    let t = format_time(NOW);
    // "Tuesday, 14-Nov-2023 22:13:20 UTC" in UTC; the shape holds in any zone.
    let (day, rest) = t.split_once(", ").unwrap();
    assert!(day.ends_with("day"), "{t}");
    let parts: Vec<&str> = rest.split(' ').collect();
    assert_eq!(parts.len(), 3, "{t}");
    assert!(parts[0].contains("-Nov-2023") && parts[1].len() == 8, "{t}");
    if chrono::Local::now().offset().local_minus_utc() == 0 {
        assert_eq!(t, "Tuesday, 14-Nov-2023 22:13:20 UTC");
    }
}

#[test]
fn query_options_follow_apache() {
    let q = Query::parse(None);
    assert_eq!(
        (q.format, q.notable, q.refresh),
        (Format::Html, false, None)
    );
    let q = Query::parse(Some("auto&refresh=5"));
    assert_eq!((q.format, q.refresh), (Format::Auto, Some(5)));
    assert_eq!(Query::parse(Some("refresh")).refresh, Some(10));
    assert_eq!(Query::parse(Some("refresh=0")).refresh, Some(10));
    assert_eq!(Query::parse(Some("refresh=-3")).refresh, Some(10));
    assert_eq!(Query::parse(Some("REFRESH=7x")).refresh, Some(7));
    assert!(Query::parse(Some("notable")).notable);
    assert_eq!(Query::parse(Some("AUTO")).format, Format::Auto);
    assert_eq!(Query::parse(Some("auto&json")).format, Format::Json);
    assert_eq!(Query::parse(Some("json&metrics")).format, Format::Metrics);
    assert_eq!(Query::parse(Some("x=auto")).format, Format::Html);
}

#[test]
fn auto_is_apaches_format_line_by_line() {
    let sb = prefork_board();
    let text = auto::render(&report(&sb, &prefork_info(), true));
    let restart = format_time(NOW - UPTIME * 1_000_000);
    let expected = format!(
        "www.example.org
ServerVersion: rhttpd/0.1.0 (Unix)
ServerMPM: prefork
Server Built: Mar  4 2025 10:11:12
CurrentTime: {now}
RestartTime: {restart}
ParentServerConfigGeneration: 2
ParentServerMPMGeneration: 1
ServerUptimeSeconds: 3725
ServerUptime: 1 hour 2 minutes 5 seconds
Load1: 0.50
Load5: 0.25
Load15: 0.12
Total Accesses: 15
Total kBytes: 12
Total Duration: 3000
CPUUser: 1
CPUSystem: 0.25
CPUChildrenUser: 0.5
CPUChildrenSystem: 0.25
CPULoad: 0.0536913
Uptime: 3725
ReqPerSec: 0.00402685
BytesPerSec: 3.29879
BytesPerReq: 819.2
DurationPerReq: 200
BusyWorkers: 2
GracefulWorkers: 0
IdleWorkers: 1
Scoreboard: _RK
",
        now = format_time(NOW)
    );
    for (got, want) in text.lines().zip(expected.lines()) {
        assert_eq!(got, want);
    }
    assert_eq!(text, expected);
}

#[test]
fn auto_without_extended_status_or_traffic_omits_conditional_lines() {
    let sb = prefork_board();
    let text = auto::render(&report(&sb, &prefork_info(), false));
    assert!(!text.contains("Total Accesses"));
    assert!(!text.contains("CPU"));
    assert!(text.contains(
        "Load15: 0.12\nBusyWorkers: 2\nGracefulWorkers: 0\nIdleWorkers: 1\nScoreboard: _RK\n"
    ));

    // No traffic, no CPU, no uptime: CPULoad, ReqPerSec/BytesPerSec and
    // BytesPerReq/DurationPerReq are left out.
    let sb = Scoreboard::create(2, 1).unwrap();
    sb.global().set_restart_time(NOW);
    let text = auto::render(&report(&sb, &prefork_info(), true));
    assert!(
        text.contains("CPUChildrenSystem: 0\nUptime: 0\nBusyWorkers: 0\n"),
        "{text}"
    );
    assert!(text.contains("ServerUptime:\n"));
    assert!(text.ends_with("Scoreboard: ..\n"), "{text}");
}

#[test]
fn counting_rules_follow_the_reference() {
    // ServerLimit 8, MaxRequestWorkers 6: one slot per state of interest.
    let sb = Scoreboard::create(8, 1).unwrap();
    sb.global().set_running_generation(3);
    let cells: [(WorkerStatus, u64, u64); 7] = [
        (Ready, 3, 0),     // idle
        (Ready, 2, 0),     // READY of an old generation: neither idle nor busy
        (Graceful, 2, 0),  // graceful
        (Starting, 3, 0),  // neither
        (BusyWrite, 3, 1), // in a quiescing process: not counted
        (Closing, 3, 0),   // busy
        (BusyLog, 3, 0),   // busy, beyond MaxRequestWorkers but alive: shown
    ];
    for (slot, &(status, generation, quiescing)) in cells.iter().enumerate() {
        let pid = 200 + slot as i32;
        let p = sb.process(slot);
        p.reset_for_new_child(pid, generation);
        p.set_quiescing(quiescing);
        let w = sb.worker(slot, 0);
        w.claim(pid, 0, generation);
        w.set_status(status);
    }
    let r = report(&sb, &MpmInfo::prefork(8, 6), true);
    assert_eq!((r.busy, r.graceful, r.idle), (2, 1, 1));
    // Slot 7 is dead and beyond MaxRequestWorkers: omitted.
    assert_eq!(r.scoreboard, "__GSWCL");
    assert_eq!(r.state_counts[Ready as usize], 2);
    assert_eq!(r.stopping(), 1);
    assert!(r.processes[1].old_gen && !r.processes[0].old_gen);
}

fn event_board() -> (Scoreboard, MpmInfo) {
    // ServerLimit 3, ThreadLimit 4, ThreadsPerChild 3, MaxRequestWorkers 6.
    let sb = Scoreboard::create(3, 4).unwrap();
    sb.global().set_running_generation(1);
    for slot in 0..2 {
        let pid = 300 + slot as i32;
        let p = sb.process(slot);
        p.reset_for_new_child(pid, 1);
        p.set_connections(5 + slot as u64);
        p.set_write_completion(1);
        p.set_keep_alive(2 + slot as u64);
        p.set_lingering_close(slot as u64);
        p.set_wait_io(1);
        for t in 0..3 {
            let w = sb.worker(slot, t);
            w.claim(pid, (pid * 10) as i64 + t as i64, 1);
            w.set_status(if t == 0 { BusyWrite } else { Ready });
        }
    }
    sb.process(1).set_quiescing(1);
    sb.process(1).set_not_accepting(true);
    let mut mpm = MpmInfo::new("event", 3, 4, 3, 6, true);
    mpm.server_version = "rhttpd/0.1.0 (Unix)".into();
    (sb, mpm)
}

#[test]
fn event_adds_process_keys_and_table() {
    let (sb, mpm) = event_board();
    let r = report(&sb, &mpm, true);
    // Thread 3 (beyond ThreadsPerChild) and slot 2 (beyond MaxRequestWorkers /
    // ThreadsPerChild) are dead: not shown.
    assert_eq!(r.scoreboard, "W__W__");
    let text = auto::render(&r);
    assert!(
        text.contains(
            "BusyWorkers: 1\nGracefulWorkers: 0\nIdleWorkers: 2\nProcesses: 2\nStopping: 1\nConnsTotal: 11\nConnsAsyncWaitIO: 2\nConnsAsyncWriting: 2\nConnsAsyncKeepAlive: 5\nConnsAsyncClosing: 1\nScoreboard: W__W__\n"
        ),
        "{text}"
    );
    let page = html::render(
        &r,
        &PageOptions {
            notable: false,
            refresh: None,
            signature: "",
            sections: "",
        },
    );
    assert!(page.contains("<th colspan=\"4\">Async connections</th>"));
    assert!(page.contains(
        "<tr><td>0</td><td>300</td><td>no</td><td>5</td><td>yes</td><td>1</td><td>0</td><td>2</td><td>1</td><td>1</td><td>2</td><td>0</td></tr>"
    ));
    // The quiescing process: stopping, not accepting, its threads not counted.
    assert!(page.contains(
        "<tr><td>1</td><td>301</td><td>yes</td><td>6</td><td>no</td><td>0</td><td>0</td><td>0</td><td>1</td><td>1</td><td>3</td><td>1</td></tr>"
    ));
    assert!(page.contains(
        "<tr><td>Sum</td><td>2</td><td>1</td><td>11</td><td>&nbsp;</td><td>1</td><td>0</td><td>2</td><td>2</td><td>2</td><td>5</td><td>1</td></tr>"
    ));
    // Prefork has neither.
    let sb = prefork_board();
    let r = report(&sb, &prefork_info(), true);
    assert!(!auto::render(&r).contains("Processes:"));
    let opts = PageOptions {
        notable: false,
        refresh: None,
        signature: "",
        sections: "",
    };
    assert!(!html::render(&r, &opts).contains("Async connections"));
    // Worker: the per-process table (threads busy/idle, stopping, accepting) but not the
    // event keys in ?auto.
    let (sb, mut mpm) = event_board();
    mpm.name = "worker";
    mpm.is_async = false;
    let r = report(&sb, &mpm, true);
    assert!(!auto::render(&r).contains("Processes:"));
    assert!(html::render(&r, &opts).contains("<th colspan=\"3\">Threads</th>"));
}

#[test]
fn html_has_the_sections_grid_and_legend_and_escapes_client_text() {
    let sb = prefork_board();
    let r = report(&sb, &prefork_info(), true);
    let sig =
        "<hr />\n<address>rhttpd/0.1.0 (Unix) Server at www.example.org Port 8080</address>\n";
    let page = html::render(
        &r,
        &PageOptions {
            notable: false,
            refresh: Some(5),
            signature: sig,
            sections: "",
        },
    );
    for needle in [
        "<title>Apache Status</title>",
        "<meta http-equiv=\"refresh\" content=\"5\">",
        "<h1>Apache Server Status for www.example.org (via 127.0.0.1)</h1>",
        "<dt>Server Version: rhttpd/0.1.0 (Unix)</dt>",
        "<dt>Server MPM: prefork</dt>",
        "<dt>Parent Server Config. Generation: 2</dt>",
        "<dt>Parent Server MPM Generation: 1</dt>",
        "<dt>Server uptime:  1 hour 2 minutes 5 seconds</dt>",
        "<dt>Server load: 0.50 0.25 0.12</dt>",
        "<dt>Total accesses: 15 - Total Traffic: 12 kB - Total Duration: 3000</dt>",
        "<dt>CPU Usage: u1 s0.25 cu0.5 cs0.25 - 0.0537% CPU load</dt>",
        "<dt>0.00403 requests/sec - 3 B/second - 819 B/request - 200 ms/request</dt>",
        "<dt>2 requests currently being processed, 0 workers gracefully restarting, 1 idle workers</dt>",
        "<pre>_RK</pre>\n<p>Scoreboard Key:<br />",
        "\"<b><code>K</code></b>\" Keepalive (read),",
        "<th>Srv</th><th>PID</th><th>Acc</th><th>M</th>",
        "<tr><td><b>1-1</b></td><td>101</td><td>0/4/10</td><td><b>R</b>\n</td><td>1.25</td>",
        "<td>10.0.0.9</td><td>HTTP/1.1</td><td nowrap>www:80</td>",
        "GET /&lt;script&gt;\\&quot;x\\&quot;&lt;/script&gt;\\x01 HTTP/1.1",
        "<tr><th>Slot</th><td>Total megabytes transferred this slot</td></tr>",
        sig,
    ] {
        assert!(page.contains(needle), "missing {needle:?} in\n{page}");
    }
    assert!(!page.contains("<script>"));
    assert!(page.ends_with("</body></html>\n"));
    // The idle cell that never served is not listed; the dead slot is not shown at all.
    assert!(!page.contains("<b>0-1</b>"));
    assert!(!page.contains("<b>3-"));

    // ?notable: details as text, no tables.
    let page = html::render(
        &r,
        &PageOptions {
            notable: true,
            refresh: None,
            signature: "",
            sections: "",
        },
    );
    assert!(!page.contains("<table") && !page.contains("<meta"));
    assert!(page.contains("<hr /><h2>Server Details</h2>"));
    assert!(page.contains("<b>Server 1-1</b> (101): 0|4|10 [<b>Read</b>] u1 s0.25"));
    assert!(page.contains("<i>10.0.0.9 {GET /&lt;script&gt;"));

    // Without ExtendedStatus: the PID key and the hint instead of the table.
    let page = html::render(
        &report(&sb, &prefork_info(), false),
        &PageOptions {
            notable: false,
            refresh: None,
            signature: "",
            sections: "",
        },
    );
    assert!(page.contains(
        "PID Key: <br />\n<pre>\n   100 in state: _ ,   101 in state: R ,   102 in state: K \n\n</pre>\n"
    ));
    assert!(page.contains("<code>ExtendedStatus On</code>"));
    assert!(!page.contains("Total accesses") && !page.contains("<table"));
}

#[test]
fn grid_wraps_at_64_letters() {
    let sb = Scoreboard::create(130, 1).unwrap();
    for slot in 0..130 {
        sb.process(slot).reset_for_new_child(1000 + slot as i32, 0);
        sb.worker(slot, 0).set_status(Ready);
    }
    let r = report(&sb, &MpmInfo::prefork(130, 130), false);
    let page = html::render(
        &r,
        &PageOptions {
            notable: false,
            refresh: None,
            signature: "",
            sections: "",
        },
    );
    let grid = page
        .split("<pre>")
        .nth(1)
        .unwrap()
        .split("</pre>")
        .next()
        .unwrap();
    let lines: Vec<&str> = grid.split('\n').collect();
    assert_eq!(lines, ["_".repeat(64), "_".repeat(64), "__".to_string()]);
    assert_eq!(r.idle, 130);
}

/// A minimal JSON checker: parses `s` fully and returns the value tree.
mod mini_json {
    #[derive(Debug, PartialEq)]
    pub enum V {
        Null,
        Bool(bool),
        Num(f64),
        Str(String),
        Arr(Vec<V>),
        Obj(Vec<(String, V)>),
    }

    impl V {
        pub fn get(&self, k: &str) -> &V {
            match self {
                V::Obj(m) => &m.iter().find(|(key, _)| key == k).unwrap().1,
                _ => panic!("not an object"),
            }
        }
    }

    pub fn parse(s: &str) -> Result<V, String> {
        let b = s.as_bytes();
        let mut i = 0;
        let v = value(b, &mut i)?;
        ws(b, &mut i);
        if i != b.len() {
            return Err(format!("trailing bytes at {i}"));
        }
        Ok(v)
    }

    fn ws(b: &[u8], i: &mut usize) {
        while *i < b.len() && b" \t\r\n".contains(&b[*i]) {
            *i += 1;
        }
    }

    fn lit(b: &[u8], i: &mut usize, word: &str, v: V) -> Result<V, String> {
        if b[*i..].starts_with(word.as_bytes()) {
            *i += word.len();
            Ok(v)
        } else {
            Err(format!("bad literal at {i}"))
        }
    }

    fn value(b: &[u8], i: &mut usize) -> Result<V, String> {
        ws(b, i);
        match b.get(*i) {
            Some(b'{') => {
                *i += 1;
                let mut m = Vec::new();
                ws(b, i);
                if b.get(*i) == Some(&b'}') {
                    *i += 1;
                    return Ok(V::Obj(m));
                }
                loop {
                    ws(b, i);
                    let V::Str(k) = string(b, i)? else {
                        unreachable!()
                    };
                    ws(b, i);
                    if b.get(*i) != Some(&b':') {
                        return Err(format!("expected : at {i}"));
                    }
                    *i += 1;
                    m.push((k, value(b, i)?));
                    ws(b, i);
                    match b.get(*i) {
                        Some(b',') => *i += 1,
                        Some(b'}') => {
                            *i += 1;
                            return Ok(V::Obj(m));
                        }
                        _ => return Err(format!("expected , or }} at {i}")),
                    }
                }
            }
            Some(b'[') => {
                *i += 1;
                let mut a = Vec::new();
                ws(b, i);
                if b.get(*i) == Some(&b']') {
                    *i += 1;
                    return Ok(V::Arr(a));
                }
                loop {
                    a.push(value(b, i)?);
                    ws(b, i);
                    match b.get(*i) {
                        Some(b',') => *i += 1,
                        Some(b']') => {
                            *i += 1;
                            return Ok(V::Arr(a));
                        }
                        _ => return Err(format!("expected , or ] at {i}")),
                    }
                }
            }
            Some(b'"') => string(b, i),
            Some(b't') => lit(b, i, "true", V::Bool(true)),
            Some(b'f') => lit(b, i, "false", V::Bool(false)),
            Some(b'n') => lit(b, i, "null", V::Null),
            Some(c) if *c == b'-' || c.is_ascii_digit() => {
                let start = *i;
                while *i < b.len() && b"+-.eE0123456789".contains(&b[*i]) {
                    *i += 1;
                }
                let t = std::str::from_utf8(&b[start..*i]).unwrap();
                // JSON forbids leading zeros, '+', and a bare '.'.
                let digits = t.trim_start_matches('-');
                if digits.starts_with('0')
                    && digits.len() > 1
                    && !digits[1..].starts_with(['.', 'e', 'E'])
                {
                    return Err(format!("leading zero in {t}"));
                }
                if digits.starts_with(['.', '+']) || t.ends_with('.') {
                    return Err(format!("bad number {t}"));
                }
                t.parse().map(V::Num).map_err(|e| format!("{t}: {e}"))
            }
            _ => Err(format!("unexpected byte at {i}")),
        }
    }

    fn string(b: &[u8], i: &mut usize) -> Result<V, String> {
        if b.get(*i) != Some(&b'"') {
            return Err(format!("expected string at {i}"));
        }
        *i += 1;
        let mut out = Vec::new();
        loop {
            match b.get(*i) {
                None => return Err("unterminated string".into()),
                Some(b'"') => {
                    *i += 1;
                    return String::from_utf8(out)
                        .map(V::Str)
                        .map_err(|e| e.to_string());
                }
                Some(b'\\') => {
                    let c = *b.get(*i + 1).ok_or("bad escape")?;
                    *i += 2;
                    match c {
                        b'"' | b'\\' | b'/' => out.push(c),
                        b'n' => out.push(b'\n'),
                        b'r' => out.push(b'\r'),
                        b't' => out.push(b'\t'),
                        b'b' => out.push(8),
                        b'f' => out.push(12),
                        b'u' => {
                            let hex = std::str::from_utf8(&b[*i..*i + 4]).unwrap();
                            let cp = u32::from_str_radix(hex, 16).map_err(|e| e.to_string())?;
                            *i += 4;
                            let ch = char::from_u32(cp).ok_or("surrogate")?;
                            out.extend_from_slice(ch.to_string().as_bytes());
                        }
                        _ => return Err(format!("bad escape at {i}")),
                    }
                }
                Some(&c) if c < 0x20 => return Err(format!("raw control byte at {i}")),
                Some(&c) => {
                    out.push(c);
                    *i += 1;
                }
            }
        }
    }
}

#[test]
fn json_is_well_formed_and_carries_the_report() {
    use mini_json::V;
    let sb = prefork_board();
    let text = json::render(&report(&sb, &prefork_info(), true));
    let v = mini_json::parse(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    assert_eq!(v.get("server_mpm"), &V::Str("prefork".into()));
    assert_eq!(v.get("scoreboard"), &V::Str("_RK".into()));
    assert_eq!(v.get("uptime_seconds"), &V::Num(3725.0));
    assert_eq!(v.get("workers").get("busy"), &V::Num(2.0));
    assert_eq!(v.get("workers").get("idle"), &V::Num(1.0));
    assert_eq!(v.get("states").get("keepalive"), &V::Num(1.0));
    assert_eq!(v.get("states").get("open"), &V::Num(0.0));
    assert_eq!(v.get("totals").get("accesses"), &V::Num(15.0));
    assert_eq!(v.get("totals").get("ms_per_request"), &V::Num(200.0));
    assert_eq!(
        v.get("load"),
        &V::Arr(vec![V::Num(0.5), V::Num(0.25), V::Num(0.125)])
    );
    let V::Arr(procs) = v.get("processes") else {
        panic!()
    };
    assert_eq!(procs.len(), 3);
    let V::Arr(cells) = v.get("workers_detail") else {
        panic!()
    };
    // The idle cell that never served is not listed.
    assert_eq!(cells.len(), 2);
    assert_eq!(
        cells[0].get("request"),
        &V::Str("GET /<script>\"x\"</script>\u{1} HTTP/1.1".into())
    );
    assert!(text.contains("\\u0001"));

    // Without ExtendedStatus, no totals and no details; no traffic gives nulls.
    let text = json::render(&report(&sb, &prefork_info(), false));
    let v = mini_json::parse(&text).unwrap();
    let V::Obj(m) = &v else { panic!() };
    assert!(
        !m.iter()
            .any(|(k, _)| k == "totals" || k == "workers_detail")
    );
    let empty = Scoreboard::create(1, 1).unwrap();
    let text = json::render(&report(&empty, &prefork_info(), true));
    let v = mini_json::parse(&text).unwrap();
    assert_eq!(v.get("totals").get("cpu_load"), &V::Null);
    assert_eq!(v.get("totals").get("requests_per_second"), &V::Null);

    assert_eq!(
        json::string("a\"b\\c\n\u{7f}é"),
        "\"a\\\"b\\\\c\\n\u{7f}é\""
    );
    assert_eq!(json::number(f64::NAN), "null");
    assert_eq!(json::number(1.5), "1.5");
}

#[test]
fn metrics_follow_the_exposition_format() {
    let (sb, mpm) = event_board();
    let text = metrics::render(&report(&sb, &mpm, true));
    let mut typed = std::collections::HashSet::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').unwrap();
            assert!(["gauge", "counter"].contains(&kind), "{line}");
            assert!(typed.insert(name.to_string()), "duplicate TYPE {name}");
            if kind == "counter" {
                assert!(name.ends_with("_total"), "{name}");
            }
            continue;
        }
        if line.starts_with("# HELP ") {
            continue;
        }
        let (series, value) = line.rsplit_once(' ').unwrap();
        let name = series.split('{').next().unwrap();
        assert!(typed.contains(name), "sample before its TYPE: {line}");
        assert!(
            name.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'_'),
            "{line}"
        );
        value.parse::<f64>().unwrap_or_else(|_| panic!("{line}"));
    }
    for needle in [
        "rhttpd_up 1\n",
        "rhttpd_info{version=\"rhttpd/0.1.0 (Unix)\",mpm=\"event\"} 1\n",
        "rhttpd_accesses_total 0\n",
        "rhttpd_sent_kilobytes_total 0\n",
        "rhttpd_workers{state=\"busy\"} 1\n",
        "rhttpd_workers{state=\"graceful\"} 0\n",
        "rhttpd_workers{state=\"idle\"} 2\n",
        "rhttpd_scoreboard{state=\"waiting\"} 4\n",
        "rhttpd_scoreboard{state=\"sending\"} 2\n",
        "rhttpd_scoreboard{state=\"open\"} 0\n",
        "rhttpd_processes 2\n",
        "rhttpd_connections{state=\"total\"} 11\n",
        "rhttpd_connections{state=\"keepalive\"} 5\n",
        "rhttpd_cpu_seconds_total{mode=\"user\"} 0\n",
        "rhttpd_uptime_seconds_total ",
    ] {
        assert!(text.contains(needle), "missing {needle:?} in\n{text}");
    }
    // Prefork: no connection states.
    let sb = prefork_board();
    let text = metrics::render(&report(&sb, &prefork_info(), true));
    assert!(!text.contains("rhttpd_connections"));
    assert!(text.contains("rhttpd_cpu_seconds_total{mode=\"children_user\"} 0.5\n"));
    assert_eq!(metrics::label("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
}

#[test]
fn registered_only_with_status_module() {
    let sb = Scoreboard::create(1, 1).unwrap();
    let load = |text: &'static str| {
        crate::conf::load(&crate::conf::LoadOptions {
            file: "/nonexistent/httpd.conf".into(),
            server_root: std::env::temp_dir(),
            embedded: Some(text),
            ..Default::default()
        })
        .unwrap()
    };
    let cfg = load("Listen 127.0.0.1:1\n");
    assert!(handlers_for(&cfg, &sb, prefork_info()).is_empty());
    let cfg = load("Listen 127.0.0.1:1\nLoadModule status_module modules/mod_status.so\n");
    assert_eq!(cfg.extended_status, Some(true));
    let hs = handlers_for(&cfg, &sb, prefork_info());
    assert_eq!(hs.len(), 1);
    assert_eq!(hs[0].name(), "server-status");
    assert!(hs[0].thread_safe());
    assert_eq!(
        MpmInfo::new("event", 16, 64, 25, 400, true).max_daemons(),
        16
    );
    assert_eq!(MpmInfo::prefork(256, 150).max_daemons(), 150);
}
