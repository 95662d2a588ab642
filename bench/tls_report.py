#!/usr/bin/env python3
"""Render bench/tls.sh results as Markdown tables with ratios (standard library only).

  tls_report.py --results OUT/results.jsonl --out OUT      # writes OUT/tls-report.md, prints it
"""
import argparse
import os
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from report import fmt_mib, fmt_ms, fmt_ratio, fmt_rps, load, ratio  # noqa: E402

ORDER = ["rhttpd-prefork", "rhttpd-worker", "rhttpd-event", "apache-prefork", "apache-worker",
         "apache-event", "nginx", "h2o"]
PEERS = ["nginx", "h2o"]
TESTS = [("https_ka_c50", "1 KiB keep-alive c50 (req/s)"),
         ("https_new_full", "new connection, full handshake (conn/s)"),
         ("https_new_resumed", "new connection, resumed session (conn/s)")]


class R:
    def __init__(self, recs):
        self.env = next((r for r in recs if r.get("kind") == "env"), {})
        self.wrk = [r for r in recs if r.get("kind") == "wrk"]
        self.idle = [r for r in recs if r.get("kind") == "tls_idle"]
        seen = {r["server"] for r in recs if "server" in r}
        self.servers = [s for s in ORDER if s in seen] + sorted(seen - set(ORDER))

    def runs(self, s, t):
        return [r for r in self.wrk if r["server"] == s and r["test"] == t and r.get("rps") is not None]

    def med(self, s, t, key="rps"):
        v = [r[key] for r in self.runs(s, t) if r.get(key) is not None]
        return statistics.median(v) if v else None

    def best_peer(self, t):
        c = [(p, self.med(p, t)) for p in PEERS if self.med(p, t) is not None]
        return max(c, key=lambda x: x[1]) if c else None


def throughput(r):
    out = ["| server | " + " | ".join(t[1] for t in TESTS) + " |", "|---|" + "---:|" * len(TESTS)]
    for s in r.servers:
        cells = []
        for t, _ in TESTS:
            rs = r.runs(s, t)
            if not rs:
                cells.append("-")
                continue
            c = (f"**{fmt_rps(r.med(s, t))}**<br>{fmt_ms(r.med(s, t, 'p50_ms'))} / "
                 f"{fmt_ms(r.med(s, t, 'p99_ms'))}")
            errs = sum(x.get("errors", 0) for x in rs)
            if errs:
                c += f"<br>errors: {errs}"
            cells.append(c)
        out.append(f"| {s} | " + " | ".join(cells) + " |")
    return out


def ratios(r):
    out = ["| rhttpd MPM | " + " | ".join(t[1] for t in TESTS) + " |", "|---|" + "---:|" * len(TESTS)]
    for mpm in ("prefork", "worker", "event"):
        s = f"rhttpd-{mpm}"
        if s not in r.servers:
            continue
        cells = []
        for t, _ in TESTS:
            v = r.med(s, t)
            if v is None:
                cells.append("-")
                continue
            parts = [f"{fmt_ratio(ratio(v, r.med(f'apache-{mpm}', t)))} Apache {mpm}"]
            bp = r.best_peer(t)
            if bp:
                parts.append(f"{fmt_ratio(ratio(v, bp[1]))} {bp[0]}")
            cells.append("<br>".join(parts))
        out.append(f"| {mpm} | " + " | ".join(cells) + " |")
    return out


def cost(r):
    out = ["| server | test | rounds | median [min – max] | server CPU µs per request / connection "
           "| client CPU µs per request / connection | CPU server / client / other (% of 200) "
           "| handshakes full / resumed | noisy runs |",
           "|---|---|---:|---:|---:|---:|---:|---:|---:|"]
    for t, _ in TESTS:
        for s in r.servers:
            rs = r.runs(s, t)
            if not rs:
                continue
            v = [x["rps"] for x in rs]
            hs = [x["handshakes"] for x in rs if x.get("handshakes")]
            hst = (f"{sum(h['full'] + h.get('hrr', 0) for h in hs):,} / {sum(h['resumed'] for h in hs):,}"
                   if hs else "-")

            def m(k):
                x = r.med(s, t, k)
                return "-" if x is None else f"{x:.0f}"
            out.append(f"| {s} | {t} | {len(rs)} | **{fmt_rps(statistics.median(v))}** "
                       f"[{fmt_rps(min(v))} – {fmt_rps(max(v))}] | {r.med(s, t, 'server_us_per_req') or 0:.1f} "
                       f"| {r.med(s, t, 'client_us_per_req') or 0:.1f} | {m('cpu_server_pct')} / "
                       f"{m('cpu_wrk_pct')} / {m('cpu_other_pct')} | {hst} "
                       f"| {sum(1 for x in rs if x.get('noisy'))}/{len(rs)} |")
    return out


def idle(r):
    out = ["| server | held: answered / still open | PSS before → held (Δ per conn) | processes / threads "
           "| status while held | fresh clients p50 / p99 (ok/n) | wrk -c50 while held |",
           "|---|---:|---:|---:|---|---:|---:|"]
    for x in r.idle:
        n = x["n"]
        d = (x["held"]["pss_kb"] - x["base"]["pss_kb"]) / max(1, n)
        sts = [s for s in x.get("status", []) if "error" not in s]
        if sts and "BusyWorkers" in sts[0]:
            st = (f"BusyWorkers {'/'.join(str(s.get('BusyWorkers')) for s in sts)}; "
                  f"IdleWorkers {sts[-1].get('IdleWorkers')}")
            if "ConnsTotal" in sts[-1]:
                st += (f"; ConnsTotal {sts[-1].get('ConnsTotal')}, "
                       f"ConnsAsyncKeepAlive {sts[-1].get('ConnsAsyncKeepAlive')}")
        elif sts and "Waiting" in sts[0]:
            st = (f"stub_status: Writing {'/'.join(str(s.get('Writing')) for s in sts)}; "
                  f"Waiting {sts[-1].get('Waiting')}")
        elif x.get("status"):
            st = f"error: {x['status'][0].get('error')}"
        else:
            st = "-"
        p = x["probe"]
        w = x.get("wrk") or {}
        wt = f"{fmt_rps(w.get('rps'))} req/s, p99 {fmt_ms(w.get('p99_ms'))}" if w.get("requests") else (
            "no response" if w else "-")
        if w.get("errors"):
            wt += f", errors {w['errors']}"
        errs = f"<br>errors: {x['errors']}" if x.get("errors") else ""
        out.append(f"| {x['server']} | {x['answered']:,} / {x['still_open']:,}{errs} | "
                   f"{fmt_mib(x['base']['pss_kb'])} → {fmt_mib(x['held']['pss_kb'])} ({d:+.2f} KiB) | "
                   f"{x['held']['procs']} / {x['held']['threads']} | {st} | "
                   f"{fmt_ms(p['p50_ms'])} / {fmt_ms(p['p99_ms'])} ({p['ok']}/{p['n']}) | {wt} |")
    return out


def report(r):
    e = r.env
    md = [f"### HTTPS {'quick run (QUICK=1: a smoke test, not a measurement)' if e.get('mode') == 'quick' else 'full run'}: {e.get('ts', '?')}\n",
          f"- machine: {e.get('nproc', '?')} CPUs ({e.get('cpu', '?')}), {e.get('mem', '?')} RAM, {e.get('kernel', '?')}",
          f"- versions: {e.get('rhttpd', '?')}; {e.get('apache', '?')}; {e.get('nginx', '?')}; "
          f"{e.get('h2o', '?')}; {e.get('openssl', '?')}; {e.get('wrk', '?')}",
          f"- certificate: {e.get('cert', '?')} (the same key and certificate for every server)",
          f"- clients: keep-alive: {e.get('client_ka', '?')}; new connections: {e.get('client_new', '?')}; "
          f"idle: {e.get('client_idle', '?')}",
          f"- settings: `{e.get('settings', '')}`"]
    neg = sorted({x["negotiated"] for x in r.wrk if x.get("negotiated")})
    if neg:
        md.append(f"- negotiated (tlsload): {'; '.join(neg)}")
    noisy = sum(1 for x in r.wrk if x.get("noisy"))
    if noisy:
        md.append(f"- {noisy} of {len(r.wrk)} runs were flagged noisy (other processes used > 30 % CPU "
                  "meanwhile): compare ratios, not absolute numbers.")
    if r.wrk:
        md += ["", "#### HTTPS throughput: median over rounds, latency p50 / p99\n",
               "Latency: per request for keep-alive (wrk); per connection for the new-connection tests "
               "(TCP connect to the server's close: handshake, GET, 1 KiB answer).\n"] + throughput(r)
        md += ["", "#### rhttpd ratios: against Apache with the same MPM, and the better of nginx / h2o\n"]
        md += ratios(r)
        md += ["", "#### Rounds, CPU cost per request (keep-alive) or per connection (new connections)\n"]
        md += cost(r)
        md.append("\nServer CPU is the scheduler's run time of every thread of the server's processes "
                  "(`/proc/PID/task/TID/schedstat`; benchlib's utime/stime ticks if larger: on a "
                  "tick-accounted kernel the ticks miss most of the time of processes that run in short "
                  "bursts, e.g. 1,024 prefork children doing one handshake each). Client CPU: tlsload's "
                  "own schedstat total, wrk's rusage.")
        for s in r.servers:
            hs = [x["handshakes"] for x in r.runs(s, "https_new_resumed") if x.get("handshakes")]
            full = sum(h["full"] + h.get("hrr", 0) for h in hs)
            tot = full + sum(h["resumed"] for h in hs)
            conns = sum(x.get("conns") or 0 for x in r.runs(s, "https_new_resumed"))
            if tot and full > conns and full / tot > 0.05:
                md.append(f"\n{s}: {full / tot:.0%} of the handshakes in https_new_resumed were full: "
                          "the server does not hand out a new session ticket on every resumed "
                          "connection (h2o 2.2.5 sends tickets after full handshakes only), and the "
                          "client uses each ticket once, as RFC 8446 appendix C.4 recommends (rustls does).")
    if r.idle:
        md += ["", f"#### Idle TLS keep-alive connections (each did a full handshake and one GET)\n",
               "Δ per conn: PSS growth of the server's processes while they are held, over its memory "
               "just before, divided by their number. BusyWorkers comes from `/server-status?auto` "
               "fetched over a new TLS connection (three samples): the worker that answers the "
               "status request counts if the MPM hands it to one. Fresh clients: new connection, "
               "full handshake, GET, whole answer, one after another (Python's ssl, OpenSSL).\n"]
        md += idle(r)
    return "\n".join(md) + "\n"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--results", required=True)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    text = report(R(load(a.results)))
    with open(os.path.join(a.out, "tls-report.md"), "w") as f:
        f.write(text)
    print(text)


if __name__ == "__main__":
    main()
