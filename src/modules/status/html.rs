//! The HTML status page, laid out as Apache 2.4's mod_status prints it (same headings,
//! keys and tables, so operators recognise it), with rhttpd's version banner. Every
//! string that can come from a client (request line, vhost, client, protocol, Host) is
//! HTML-escaped, and control characters in the request line are shown as `\xHH` as
//! Apache's `ap_escape_logitem` does.

use std::fmt::Write;

use super::PageOptions;
use super::report::{CellRow, Report, fmt_g, format_bytes, format_kbytes, format_time, show_time};
use crate::scoreboard::WorkerStatus;

const DOCTYPE: &str = "<!DOCTYPE HTML PUBLIC \"-//W3C//DTD HTML 3.2 Final//EN\">\n";

/// Letters per line of the scoreboard grid.
pub const GRID_WIDTH: usize = 64;

/// The legend under the grid.
pub const SCOREBOARD_KEY: &str = "<p>Scoreboard Key:<br />\n\
\"<b><code>_</code></b>\" Waiting for Connection, \n\
\"<b><code>S</code></b>\" Starting up, \n\
\"<b><code>R</code></b>\" Reading Request,<br />\n\
\"<b><code>W</code></b>\" Sending Reply, \n\
\"<b><code>K</code></b>\" Keepalive (read), \n\
\"<b><code>D</code></b>\" DNS Lookup,<br />\n\
\"<b><code>C</code></b>\" Closing connection, \n\
\"<b><code>L</code></b>\" Logging, \n\
\"<b><code>G</code></b>\" Gracefully finishing,<br /> \n\
\"<b><code>I</code></b>\" Idle cleanup of worker, \n\
\"<b><code>.</code></b>\" Open slot with no current process<br />\n\
<p />\n";

const DETAILS_LEGEND: &str = "</table>\n \
<hr /> \
<table>\n \
<tr><th>Srv</th><td>Child Server number - generation</td></tr>\n \
<tr><th>PID</th><td>OS process ID</td></tr>\n \
<tr><th>Acc</th><td>Number of accesses this connection / this child / this slot</td></tr>\n \
<tr><th>M</th><td>Mode of operation</td></tr>\n\
<tr><th>CPU</th><td>CPU usage, number of seconds</td></tr>\n\
<tr><th>SS</th><td>Seconds since beginning of most recent request</td></tr>\n \
<tr><th>Req</th><td>Milliseconds required to process most recent request</td></tr>\n \
<tr><th>Dur</th><td>Sum of milliseconds required to process all requests</td></tr>\n \
<tr><th>Conn</th><td>Kilobytes transferred this connection</td></tr>\n \
<tr><th>Child</th><td>Megabytes transferred this child</td></tr>\n \
<tr><th>Slot</th><td>Total megabytes transferred this slot</td></tr>\n \
</table>\n";

/// HTML-escapes `s` (`< > & "`).
pub fn esc(s: &str) -> String {
    crate::error_pages::html_escape(s)
}

/// `ap_escape_logitem` then HTML escaping: control bytes, `"` and `\` are shown as
/// escapes so a request line cannot forge page structure.
pub fn esc_request(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => o.push_str("\\\\"),
            '"' => o.push_str("\\\""),
            '\n' => o.push_str("\\n"),
            '\r' => o.push_str("\\r"),
            '\t' => o.push_str("\\t"),
            c if c.is_control() => {
                let _ = write!(o, "\\x{:02x}", c as u32);
            }
            c => o.push(c),
        }
    }
    esc(&o)
}

pub fn render(r: &Report, opts: &PageOptions<'_>) -> String {
    let mut o = String::with_capacity(8192 + r.cells.len() * 256);
    o.push_str(DOCTYPE);
    o.push_str("<html><head>\n<title>Apache Status</title>\n");
    if let Some(n) = opts.refresh {
        let _ = writeln!(o, "<meta http-equiv=\"refresh\" content=\"{n}\">");
    }
    o.push_str("</head><body>\n");
    let _ = write!(
        o,
        "<h1>Apache Server Status for {} (via {})</h1>\n\n",
        esc(&r.env.server_name),
        esc(&r.env.local_ip)
    );
    let _ = writeln!(
        o,
        "<dl><dt>Server Version: {}</dt>",
        esc(&r.mpm.server_version)
    );
    let _ = writeln!(o, "<dt>Server MPM: {}</dt>", esc(r.mpm.name));
    let _ = writeln!(
        o,
        "<dt>Server Built: {}\n</dt></dl><hr /><dl>",
        esc(&r.mpm.server_built)
    );
    let _ = writeln!(
        o,
        "<dt>Current Time: {}</dt>",
        format_time(r.env.now_micros)
    );
    let _ = writeln!(
        o,
        "<dt>Restart Time: {}</dt>",
        format_time(r.restart_micros)
    );
    let _ = writeln!(
        o,
        "<dt>Parent Server Config. Generation: {}</dt>",
        r.config_generation
    );
    let _ = writeln!(
        o,
        "<dt>Parent Server MPM Generation: {}</dt>",
        r.mpm_generation
    );
    let _ = writeln!(o, "<dt>Server uptime: {}</dt>", show_time(r.uptime_secs));
    let [l1, l5, l15] = r.env.load;
    let _ = writeln!(o, "<dt>Server load: {l1:.2} {l5:.2} {l15:.2}</dt>");
    if r.env.extended {
        let t = &r.totals;
        let _ = writeln!(
            o,
            "<dt>Total accesses: {} - Total Traffic: {} - Total Duration: {}</dt>",
            t.accesses,
            format_kbytes(t.kbytes),
            t.duration_ms
        );
        let _ = write!(
            o,
            "<dt>CPU Usage: u{} s{} cu{} cs{}",
            fmt_g(t.cpu_user, 6),
            fmt_g(t.cpu_system, 6),
            fmt_g(t.cpu_children_user, 6),
            fmt_g(t.cpu_children_system, 6)
        );
        match r.cpu_load() {
            Some(load) => {
                let _ = writeln!(o, " - {}% CPU load</dt>", fmt_g(load, 3));
            }
            None => o.push_str("</dt>\n"),
        }
        o.push_str("<dt>");
        if let Some((reqs, bytes)) = r.per_second() {
            let _ = write!(
                o,
                "{} requests/sec - {}/second",
                fmt_g(reqs, 3),
                format_bytes(bytes as u64)
            );
        }
        if let Some((bytes, ms)) = r.per_request() {
            if r.per_second().is_some() {
                o.push_str(" - ");
            }
            let _ = write!(
                o,
                "{}/request - {} ms/request",
                format_bytes(bytes as u64),
                fmt_g(ms, 6)
            );
        }
        o.push_str("</dt>\n");
    }
    let _ = writeln!(
        o,
        "<dt>{} requests currently being processed, {} workers gracefully restarting, {} idle workers</dt>",
        r.busy, r.graceful, r.idle
    );
    o.push_str("</dl>");

    // The per-process table for every threaded MPM (Apache prints it for event only;
    // for worker the async columns stay at 0, its connections live on threads).
    if (r.mpm.is_async || r.mpm.name != "prefork") && !opts.notable {
        process_table(&mut o, r);
    }

    o.push_str("<pre>");
    for (i, c) in r.scoreboard.chars().enumerate() {
        o.push(c);
        if i % GRID_WIDTH == GRID_WIDTH - 1 {
            o.push('\n');
        }
    }
    o.push_str("</pre>\n");
    o.push_str(SCOREBOARD_KEY);

    if !r.env.extended {
        pid_key(&mut o, r);
        o.push_str(
            "<hr />To obtain a full report with current status information you need to use the <code>ExtendedStatus On</code> directive.\n",
        );
    } else if opts.notable {
        o.push_str("<hr /><h2>Server Details</h2>\n\n");
        for c in r.cells.iter().filter(|c| c.listed()) {
            detail_text(&mut o, c);
        }
    } else {
        o.push_str(
            "\n\n<table border=\"0\"><tr><th>Srv</th><th>PID</th><th>Acc</th><th>M</th><th>CPU\n</th><th>SS</th><th>Req</th><th>Dur</th><th>Conn</th><th>Child</th><th>Slot</th><th>Client</th><th>Protocol</th><th>VHost</th><th>Request</th></tr>\n\n",
        );
        for c in r.cells.iter().filter(|c| c.listed()) {
            detail_row(&mut o, c);
        }
        o.push_str(DETAILS_LEGEND);
    }
    if let Some(tls) = &r.env.tls {
        o.push_str("<hr />\n<h2>SSL/TLS</h2>\n<dl><dt>Hosts with SSLEngine on: ");
        let names: Vec<String> = tls
            .hosts
            .iter()
            .map(|h| crate::error_pages::html_escape(h))
            .collect();
        o.push_str(&names.join(", "));
        o.push_str("</dt>\n");
        match &tls.cache {
            Some((bytes, entries, s)) => {
                let _ = writeln!(
                    o,
                    "<dt>Session cache: shared memory, {bytes} bytes, up to {entries} sessions; \
                     {} stored, {} hits, {} misses</dt>",
                    s.stored, s.hits, s.misses
                );
            }
            None => o.push_str("<dt>Session cache: none (session tickets only)</dt>\n"),
        }
        o.push_str("</dl>\n");
    }
    o.push_str(opts.sections);
    o.push_str(opts.signature);
    o.push_str("</body></html>\n");
    o
}

fn process_table(o: &mut String, r: &Report) {
    o.push_str(
        "\n\n<table rules=\"all\" cellpadding=\"1%\">\n\
<tr><th rowspan=\"2\">Slot</th><th rowspan=\"2\">PID</th><th rowspan=\"2\">Stopping</th><th colspan=\"2\">Connections</th>\n\
<th colspan=\"3\">Threads</th><th colspan=\"4\">Async connections</th></tr>\n\
<tr><th>total</th><th>accepting</th><th>busy</th><th>graceful</th><th>idle</th><th>wait-io</th><th>writing</th><th>keep-alive</th><th>closing</th></tr>\n",
    );
    for p in &r.processes {
        let stopping = match (p.stopping, p.old_gen) {
            (false, _) => "no",
            (true, false) => "yes",
            (true, true) => "yes (old gen)",
        };
        let _ = writeln!(
            o,
            "<tr><td>{}</td><td>{}</td><td>{stopping}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            p.slot,
            p.pid,
            p.connections,
            if p.accepting { "yes" } else { "no" },
            p.busy,
            p.graceful,
            p.idle,
            p.wait_io,
            p.writing,
            p.keep_alive,
            p.closing
        );
    }
    let [total, wait_io, writing, keep_alive, closing] = r.conn_sums();
    let sum = |f: fn(&super::ProcRow) -> usize| r.processes.iter().map(f).sum::<usize>();
    let _ = writeln!(
        o,
        "<tr><td>Sum</td><td>{}</td><td>{}</td><td>{total}</td><td>&nbsp;</td><td>{}</td><td>{}</td><td>{}</td><td>{wait_io}</td><td>{writing}</td><td>{keep_alive}</td><td>{closing}</td></tr>\n</table>",
        r.processes.len(),
        r.stopping(),
        sum(|p| p.busy),
        sum(|p| p.graceful),
        sum(|p| p.idle),
    );
}

/// Without ExtendedStatus: "<pid> in state: <c>", three per line.
fn pid_key(o: &mut String, r: &Report) {
    o.push_str("PID Key: <br />\n<pre>\n");
    let mut k = 0;
    for c in r.cells.iter().filter(|c| c.status != WorkerStatus::Dead) {
        let _ = write!(o, "   {} in state: {} ", c.pid, c.status.letter());
        k += 1;
        if k >= 3 {
            o.push('\n');
            k = 0;
        } else {
            o.push(',');
        }
    }
    o.push_str("\n</pre>\n");
}

fn mode_cell(s: WorkerStatus) -> String {
    match s {
        WorkerStatus::Ready
        | WorkerStatus::Dead
        | WorkerStatus::Graceful
        | WorkerStatus::IdleKill => s.letter().to_string(),
        _ => format!("<b>{}</b>", s.letter()),
    }
}

fn mode_word(s: WorkerStatus) -> &'static str {
    match s {
        WorkerStatus::Ready => "Ready",
        WorkerStatus::Starting => "Starting",
        WorkerStatus::BusyRead => "<b>Read</b>",
        WorkerStatus::BusyWrite => "<b>Write</b>",
        WorkerStatus::BusyKeepalive => "<b>Keepalive</b>",
        WorkerStatus::BusyLog => "<b>Logging</b>",
        WorkerStatus::BusyDns => "<b>DNS lookup</b>",
        WorkerStatus::Closing => "<b>Closing</b>",
        WorkerStatus::Dead => "Dead",
        WorkerStatus::Graceful => "Graceful",
        WorkerStatus::IdleKill => "Dying",
    }
}

fn pid_text(c: &CellRow) -> String {
    if c.status == WorkerStatus::Dead || c.pid == 0 {
        "-".into()
    } else {
        c.pid.to_string()
    }
}

fn detail_row(o: &mut String, c: &CellRow) {
    let _ = write!(
        o,
        "<tr><td><b>{}-{}</b></td><td>{}</td><td>{}/{}/{}</td><td>{}\n</td>",
        c.slot,
        c.generation,
        pid_text(c),
        c.conn_count,
        c.my_access_count,
        c.access_count,
        mode_cell(c.status)
    );
    let _ = write!(
        o,
        "<td>{:.2}</td><td>{}</td><td>{}</td><td>{}",
        c.cpu_secs, c.ss_secs, c.req_ms, c.dur_ms
    );
    let _ = writeln!(
        o,
        "</td><td>{:.1}</td><td>{:.2}</td><td>{:.2}",
        c.conn_bytes as f64 / 1024.0,
        c.my_bytes as f64 / 1_048_576.0,
        c.bytes as f64 / 1_048_576.0
    );
    let _ = write!(
        o,
        "</td><td>{}</td><td>{}</td><td nowrap>{}</td><td nowrap>{}</td></tr>\n\n",
        esc(&c.client),
        esc(&c.protocol),
        esc(&c.vhost),
        esc_request(&c.request)
    );
}

fn detail_text(o: &mut String, c: &CellRow) {
    let pid = if c.status == WorkerStatus::Dead || c.pid == 0 {
        "-".to_string()
    } else {
        c.pid.to_string()
    };
    let _ = write!(
        o,
        "<b>Server {}-{}</b> ({pid}): {}|{}|{} [{}] u{} s{} cu0 cs0\n {} {} (",
        c.slot,
        c.generation,
        c.conn_count,
        c.my_access_count,
        c.access_count,
        mode_word(c.status),
        fmt_g(c.cpu_user, 6),
        fmt_g(c.cpu_system, 6),
        c.ss_secs,
        c.req_ms
    );
    let _ = writeln!(
        o,
        "{}|{}|{})",
        format_bytes(c.bytes),
        format_bytes(c.my_bytes),
        format_bytes(c.conn_bytes)
    );
    let _ = write!(
        o,
        " <i>{} {{{}}}</i> <i>({})</i> <b>[{}]</b><br />\n\n",
        esc(&c.client),
        esc_request(&c.request),
        esc(&c.protocol),
        esc(&c.vhost)
    );
}
