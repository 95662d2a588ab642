#!/usr/bin/env python3
"""Render bench/run.sh results: Markdown tables with ratios, SVG plots, BENCHMARKS.md section.

  report.py --results OUT/results.jsonl --out OUT [--benchmarks-md BENCHMARKS.md --svg-dir bench/results]

Writes OUT/report.md, OUT/throughput.svg, OUT/memory.svg. With --benchmarks-md, replaces the
text between the GENERATED markers of that file with the report and copies the SVGs and the
raw results to --svg-dir (linked from the report). Standard library only.
"""
import argparse
import json
import os
import shutil
import statistics
from html import escape

BEGIN = "<!-- BEGIN GENERATED (bench/run.sh) -->"
END = "<!-- END GENERATED (bench/run.sh) -->"
ORDER = ["rhttpd-prefork", "rhttpd-worker", "rhttpd-event", "apache-prefork", "apache-worker",
         "apache-event", "nginx", "h2o", "lighttpd"]
PEERS = ["nginx", "h2o", "lighttpd"]
TESTS = [("ka_c50", "1 KiB keep-alive c50"), ("ka_c256", "1 KiB keep-alive c256"),
         ("close_c50", "1 KiB Connection: close c50"), ("f100k_c50", "100 KiB c50"),
         ("f1m_c50", "1 MiB c50"), ("cgi_c20", "CGI hello.cgi c20")]


def load(path):
    recs = []
    with open(path) as f:
        for line in f:
            if line.strip():
                recs.append(json.loads(line))
    return recs


def fmt_rps(v):
    if v is None:
        return "-"
    return f"{v / 1000:.1f}k" if v >= 10000 else f"{v:.0f}"


def fmt_ms(v):
    if v is None:
        return "-"
    if v < 1:
        return f"{v * 1000:.0f}µs"
    return f"{v:.1f}ms" if v < 100 else f"{v:.0f}ms"


def fmt_mib(kb):
    return "-" if kb is None else f"{kb / 1024:.1f} MiB"


def ratio(a, b):
    if a is None or not b:
        return None
    return a / b


def fmt_ratio(r):
    return "-" if r is None else f"{r:.2f}x"


class Results:
    def __init__(self, recs):
        self.env = next((r for r in recs if r.get("kind") == "env"), {})
        self.wrk = [r for r in recs if r.get("kind") == "wrk"]
        self.skips = [r for r in recs if r.get("kind") == "skip"]
        self.idle = [r for r in recs if r.get("kind") == "idle"]
        seen = {r["server"] for r in recs if "server" in r}
        self.servers = [s for s in ORDER if s in seen] + sorted(seen - set(ORDER))

    def runs(self, server, test):
        return [r for r in self.wrk if r["server"] == server and r["test"] == test
                and r.get("rps") is not None]

    def med(self, server, test, key="rps"):
        v = [r[key] for r in self.runs(server, test) if r.get(key) is not None]
        return statistics.median(v) if v else None

    def skip(self, server, test):
        return next((r["why"] for r in self.skips if r["server"] == server and r["test"] == test), None)

    def best_peer(self, test):
        best = None
        for p in PEERS:
            v = self.med(p, test)
            if v is not None and (best is None or v > best[1]):
                best = (p, v)
        return best

    def idle_rec(self, server, n):
        return next((r for r in self.idle if r["server"] == server and r["n"] == n), None)

    def idle_counts(self):
        return sorted({r["n"] for r in self.idle if r["n"] > 0} |
                      {int(r["test"][4:]) for r in self.skips if r["test"].startswith("idle")})


def table_throughput(R):
    out = ["| server | " + " | ".join(t[1] for t in TESTS) + " |",
           "|---|" + "---:|" * len(TESTS)]
    for s in R.servers:
        cells = []
        for t, _ in TESTS:
            rs = R.runs(s, t)
            if not rs:
                why = R.skip(s, t)
                cells.append(f"n/a ({why})" if why else "-")
                continue
            c = f"**{fmt_rps(R.med(s, t))}**"
            if t.startswith("f") and R.med(s, t, "bytes_per_s"):
                c += f" ({R.med(s, t, 'bytes_per_s') / 1048576:.0f} MiB/s)"
            c += f"<br>{fmt_ms(R.med(s, t, 'p50_ms'))} / {fmt_ms(R.med(s, t, 'p99_ms'))}"
            errs = sum(r.get("errors", 0) for r in rs)
            if errs:
                c += f"<br>errors: {errs}"
            cells.append(c)
        out.append(f"| {s} | " + " | ".join(cells) + " |")
    return out


def table_ratios(R):
    out = ["| rhttpd MPM | " + " | ".join(t[1] for t in TESTS) + " |",
           "|---|" + "---:|" * len(TESTS)]
    for mpm in ("prefork", "worker", "event"):
        s = f"rhttpd-{mpm}"
        if s not in R.servers:
            continue
        cells = []
        for t, _ in TESTS:
            v = R.med(s, t)
            if v is None:
                cells.append("-")
                continue
            a = ratio(v, R.med(f"apache-{mpm}", t))
            bp = R.best_peer(t)
            parts = [f"{fmt_ratio(a)} Apache"]
            if bp:
                parts.append(f"{fmt_ratio(ratio(v, bp[1]))} {bp[0]}")
            cells.append("<br>".join(parts))
        out.append(f"| {mpm} | " + " | ".join(cells) + " |")
    return out


def table_cpu(R):
    out = ["| server | rounds | req/s median [min – max] | server CPU µs/request | server context "
           "switches/request | CPU server / wrk / other (% of 200) | runs flagged noisy |",
           "|---|---:|---:|---:|---:|---:|---:|"]
    for s in R.servers:
        rs = R.runs(s, "ka_c50")
        if not rs:
            continue
        v = [r["rps"] for r in rs]
        out.append(
            f"| {s} | {len(rs)} | **{fmt_rps(statistics.median(v))}** [{fmt_rps(min(v))} – "
            f"{fmt_rps(max(v))}] | {R.med(s, 'ka_c50', 'server_us_per_req') or 0:.1f} | "
            f"{R.med(s, 'ka_c50', 'ctxsw_per_req') or 0:.2f} | "
            f"{R.med(s, 'ka_c50', 'cpu_server_pct') or 0:.0f} / {R.med(s, 'ka_c50', 'cpu_wrk_pct') or 0:.0f}"
            f" / {R.med(s, 'ka_c50', 'cpu_other_pct') or 0:.0f} | "
            f"{sum(1 for r in rs if r.get('noisy'))}/{len(rs)} |")
    return out


def table_idle(R):
    counts = R.idle_counts()
    head = "| server | fresh (no connections) |"
    sep = "|---|---:|"
    for n in counts:
        head += f" {n:,} idle: PSS (Δ per conn) | {n:,}: answered / still open | {n:,}: fresh clients p50 / p99 | {n:,}: wrk c50 while held |"
        sep += "---:|---:|---:|---:|"
    out = [head, sep]
    for s in R.servers:
        f = R.idle_rec(s, 0)
        if not f:
            continue
        row = f"| {s} | {fmt_mib(f['held']['pss_kb'])} ({f['held']['procs']} proc, {f['held']['threads']} thr) |"
        for n in counts:
            r = R.idle_rec(s, n)
            if not r:
                why = R.skip(s, f"idle{n}")
                row += f" n/a{f' ({why})' if why else ''} | | | |"
                continue
            d = (r["held"]["pss_kb"] - r["base"]["pss_kb"]) / n
            p = r["probe"]
            probe = f"{fmt_ms(p['p50_ms'])} / {fmt_ms(p['p99_ms'])}"
            if p["ok"] < p["n"]:
                probe += f" ({p['n'] - p['ok']}/{p['n']} failed: {', '.join(p['fail'])})"
            w = r.get("wrk") or {}
            wt = f"{fmt_rps(w.get('rps'))} req/s, p99 {fmt_ms(w.get('p99_ms'))}" if w else "-"
            if w and not w.get("requests"):
                wt = "no response"
            if w.get("errors"):
                wt += f", errors {w['errors']}"
            row += (f" {fmt_mib(r['held']['pss_kb'])} ({d:+.1f} KiB) | {r['answered']:,} / "
                    f"{r['still_open']:,} | {probe} | {wt} |")
        out.append(row)
    return out


def targets(R):
    """DESIGN.md §9 targets with what this run measured."""
    rows = []

    def add(target, measured, ok):
        rows.append(f"| {target} | {measured} | {'✅ met' if ok else ('❌ not met' if ok is False else '—')} |")

    def rr(a, b):
        return ratio(a, b)

    ev, h2o = R.med("rhttpd-event", "ka_c50"), R.med("h2o", "ka_c50")
    r = rr(ev, h2o)
    add("event, 1 KiB keep-alive c50 ≥ 1.0x h2o", f"{fmt_rps(ev)} vs {fmt_rps(h2o)} = {fmt_ratio(r)}",
        None if r is None else r >= 1.0)
    best_close = max(((s, R.med(s, "close_c50")) for s in R.servers if s.startswith("rhttpd-")
                      and R.med(s, "close_c50") is not None), key=lambda x: x[1], default=(None, None))
    ng = R.med("nginx", "close_c50")
    r = rr(best_close[1], ng)
    add("Connection: close ≥ 1.0x nginx", f"{best_close[0] or 'rhttpd'} {fmt_rps(best_close[1])} vs "
        f"{fmt_rps(ng)} = {fmt_ratio(r)}", None if r is None else r >= 1.0)
    add("h2c (h2load) ≥ 1.0x h2o", "not in this phase: see the HTTP/2 section (`PHASES=h2`)", None)
    for mpm in ("prefork", "worker"):
        a, b = R.med(f"rhttpd-{mpm}", "ka_c50"), R.med(f"apache-{mpm}", "ka_c50")
        r = rr(a, b)
        add(f"{mpm} ≥ 1.3x Apache {mpm} req/s (1 KiB keep-alive c50)",
            f"{fmt_rps(a)} vs {fmt_rps(b)} = {fmt_ratio(r)}", None if r is None else r >= 1.3)
    a, b = R.idle_rec("rhttpd-prefork", 1000), R.idle_rec("apache-prefork", 1000)
    if a and b:
        r = rr(a["held"]["rss_kb"], b["held"]["rss_kb"])
        add("prefork: sum of RSS at 1,000 connections ≤ 0.25x Apache prefork's",
            f"{fmt_mib(a['held']['rss_kb'])} vs {fmt_mib(b['held']['rss_kb'])} = {fmt_ratio(r)}"
            f" (PSS: {fmt_mib(a['held']['pss_kb'])} vs {fmt_mib(b['held']['pss_kb'])})", r <= 0.25)
    else:
        add("prefork: sum of RSS at 1,000 connections ≤ 0.25x Apache prefork's", "not measured", None)
    ns = [n for n in R.idle_counts() if R.idle_rec("rhttpd-event", n)]
    if ns:
        n = max(ns)
        e = R.idle_rec("rhttpd-event", n)
        d = (e["held"]["pss_kb"] - e["base"]["pss_kb"]) / n
        add("event: an idle keep-alive connection ≤ 1 KiB of memory",
            f"{d:.2f} KiB per connection (ΔPSS over {n:,} connections)", d <= 1.0)
    else:
        add("event: an idle keep-alive connection ≤ 1 KiB of memory", "not measured", None)
    e = R.idle_rec("rhttpd-event", 10000)
    if e:
        p99 = e["probe"]["p99_ms"]
        w99 = (e.get("wrk") or {}).get("p99_ms")
        ok = (e["still_open"] >= 10000 and p99 is not None and p99 < 20 and e["probe"]["ok"] == e["probe"]["n"]
              and (w99 is None or w99 < 20))
        add("event: 10,000 idle keep-alive connections held, fresh requests p99 < 20 ms",
            f"{e['still_open']:,} held; fresh clients p99 {fmt_ms(p99)}, wrk c50 p99 {fmt_ms(w99)}", ok)
    else:
        add("event: 10,000 idle keep-alive connections held, fresh requests p99 < 20 ms",
            "not measured in this run (full mode only)", None)
    add("zero failed requests across graceful restart and MaxConnectionsPerChild recycling",
        "not measured by bench/run.sh (covered by the end-to-end tests)", None)
    return ["| target (DESIGN.md §9) | this run | status |", "|---|---|---|"] + rows


# ------------------------------------------------------------------ SVG
def color(s):
    if s.startswith("rhttpd"):
        return "#d9480f"
    if s.startswith("apache"):
        return "#1c7ed6"
    return "#5c940d"


def svg_bars(panels, title, unit_fmt, path, note=""):
    """panels: [(panel title, [(label, value, lo, hi)])] -> horizontal bar charts, 2 per row."""
    cols, pw, bar_h, gap, lab_w = 2, 470, 16, 4, 120
    ph_list = [30 + len(items) * (bar_h + gap) + 10 for _, items in panels]
    rows = (len(panels) + cols - 1) // cols
    row_h = [max(ph_list[i * cols:(i + 1) * cols] or [0]) for i in range(rows)]
    W = cols * pw + 20
    H = 50 + sum(row_h) + 30
    o = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" '
         f'font-family="sans-serif" font-size="11">',
         f'<rect width="{W}" height="{H}" fill="white"/>',
         f'<text x="10" y="22" font-size="15" font-weight="bold">{escape(title)}</text>']
    if note:
        o.append(f'<text x="10" y="40" fill="#555">{escape(note)}</text>')
    y0 = 50
    for i, (ptitle, items) in enumerate(panels):
        r, c = divmod(i, cols)
        x = 10 + c * pw
        y = y0 + sum(row_h[:r])
        o.append(f'<text x="{x}" y="{y + 14}" font-weight="bold">{escape(ptitle)}</text>')
        vmax = max([v for _, v, _, hi in items if v] + [hi for _, _, _, hi in items if hi] + [1])
        span = pw - lab_w - 80
        for j, (label, v, lo, hi) in enumerate(items):
            by = y + 24 + j * (bar_h + gap)
            o.append(f'<text x="{x + lab_w - 6}" y="{by + 12}" text-anchor="end">{escape(label)}</text>')
            if v is None:
                o.append(f'<text x="{x + lab_w + 4}" y="{by + 12}" fill="#888">n/a</text>')
                continue
            w = max(1.0, v / vmax * span)
            o.append(f'<rect x="{x + lab_w}" y="{by}" width="{w:.1f}" height="{bar_h}" '
                     f'fill="{color(label)}"/>')
            if lo is not None and hi is not None and hi > lo:
                x1, x2 = x + lab_w + lo / vmax * span, x + lab_w + hi / vmax * span
                cy = by + bar_h / 2
                o.append(f'<line x1="{x1:.1f}" y1="{cy}" x2="{x2:.1f}" y2="{cy}" stroke="black"/>')
                for xx in (x1, x2):
                    o.append(f'<line x1="{xx:.1f}" y1="{cy - 4}" x2="{xx:.1f}" y2="{cy + 4}" stroke="black"/>')
            o.append(f'<text x="{x + lab_w + w + 4 if not hi else x + lab_w + max(w, hi / vmax * span) + 4:.1f}" '
                     f'y="{by + 12}">{escape(unit_fmt(v))}</text>')
    o.append(f'<text x="10" y="{H - 10}" fill="#555">orange: rhttpd · blue: Apache httpd · '
             f'green: nginx / h2o / lighttpd</text>')
    o.append("</svg>")
    with open(path, "w") as f:
        f.write("\n".join(o) + "\n")


def plots(R, out):
    panels = []
    for t, title in TESTS:
        items = []
        for s in R.servers:
            rs = R.runs(s, t)
            if not rs and R.skip(s, t) is None and t != "cgi_c20":
                continue
            v = [r["rps"] for r in rs]
            items.append((s, statistics.median(v) if v else None,
                          min(v) if len(v) > 1 else None, max(v) if len(v) > 1 else None))
        if items:
            panels.append((title + " — req/s (median, whiskers: min–max of rounds)", items))
    svg_bars(panels, "Throughput (wrk -t2, 127.0.0.1)", fmt_rps, os.path.join(out, "throughput.svg"),
             f"{R.env.get('mode', '?')} run {R.env.get('ts', '')[:10]}, {R.env.get('nproc', '?')} CPUs; "
             "ratios within one run are what count")
    panels = []
    fresh = [(s, R.idle_rec(s, 0)["held"]["pss_kb"] / 1024, None, None) for s in R.servers if R.idle_rec(s, 0)]
    if fresh:
        panels.append(("fresh server, no connections — PSS sum (MiB)", fresh))
    for n in R.idle_counts():
        items = []
        for s in R.servers:
            if not R.idle_rec(s, 0):
                continue
            r = R.idle_rec(s, n)
            items.append((s, r["held"]["pss_kb"] / 1024 if r else None, None, None))
        panels.append((f"{n:,} idle keep-alive connections — PSS sum (MiB)", items))
    if panels:
        svg_bars(panels, "Memory: sum of PSS over all server processes", lambda v: f"{v:.1f} MiB",
                 os.path.join(out, "memory.svg"))


def report(R, svg_rel):
    e = R.env
    quick = e.get("mode") == "quick"
    md = []
    md.append(f"### {'Quick run (QUICK=1: short runs, 1,000 idle connections only — a smoke test, not the reference figures)' if quick else 'Full run'}: {e.get('ts', '?')}\n")
    md.append(f"- machine: {e.get('nproc', '?')} CPUs ({e.get('cpu', '?')}), {e.get('mem', '?')} RAM, {e.get('kernel', '?')}")
    md.append(f"- versions: {e.get('rhttpd', '?')}; {e.get('apache', '?')}; {e.get('nginx', '?')}; "
              f"{e.get('h2o', '?')}; {e.get('lighttpd', '?')}; {e.get('wrk', '?')}")
    md.append(f"- settings: `{e.get('settings', '')}`; RLIMIT_NOFILE {e.get('ulimit_n', '?')}")
    md.append("- h2c and h2 over TLS: measured by `PHASES=h2` (bench/h2_report.py, the HTTP/2 section).")
    noisy = sum(1 for r in R.wrk if r.get("noisy"))
    if noisy:
        md.append(f"- {noisy} of {len(R.wrk)} wrk runs were flagged noisy (other processes used > "
                  "30 % CPU meanwhile): absolute numbers from this run are unreliable; compare ratios.")
    md.append("")
    md.append("#### Targets (DESIGN.md §9) against this run\n")
    md += targets(R)
    if R.wrk:
        md.append("\n#### Throughput: req/s (median over rounds), latency p50 / p99\n")
        md += table_throughput(R)
        md.append("\n#### rhttpd ratios: against Apache with the same MPM, and against the best of "
                  "nginx / h2o / lighttpd in each test\n")
        md += table_ratios(R)
        md.append(f"\n![throughput]({svg_rel}/throughput.svg)\n")
        md.append("#### Interleaved rounds, 1 KiB keep-alive c50: spread and cost per request\n")
        md += table_cpu(R)
    if R.idle:
        md.append("\n#### Memory (sum of PSS over all server processes) and idle keep-alive connections\n")
        md.append("Δ per conn is the PSS growth while the connections are held (over the server's "
                  "memory just before they were opened) divided by their number; 'fresh clients' are new connections made one after another while the "
                  "idle ones are held (connect + GET + full response).\n")
        md += table_idle(R)
        md.append(f"\n![memory]({svg_rel}/memory.svg)\n")
    return "\n".join(md) + "\n"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--results", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--benchmarks-md")
    ap.add_argument("--svg-dir")
    a = ap.parse_args()
    R = Results(load(a.results))
    if R.wrk or R.idle:
        plots(R, a.out)
    with open(os.path.join(a.out, "report.md"), "w") as f:
        f.write(report(R, "."))
    print(report(R, "."))
    if a.benchmarks_md and a.svg_dir:
        os.makedirs(a.svg_dir, exist_ok=True)
        for name in ("throughput.svg", "memory.svg"):
            src = os.path.join(a.out, name)
            if os.path.exists(src):
                shutil.copy(src, os.path.join(a.svg_dir, name))
        shutil.copy(a.results, os.path.join(a.svg_dir, "results.jsonl"))
        rel = os.path.relpath(a.svg_dir, os.path.dirname(os.path.abspath(a.benchmarks_md)))
        section = report(R, rel)
        text = open(a.benchmarks_md).read() if os.path.exists(a.benchmarks_md) else "# Benchmarks\n\n"
        if BEGIN in text and END in text:
            head, rest = text.split(BEGIN, 1)
            tail = rest.split(END, 1)[1]
            text = f"{head}{BEGIN}\n{section}{END}{tail}"
        else:
            text = f"{text.rstrip()}\n\n{BEGIN}\n{section}{END}\n"
        with open(a.benchmarks_md, "w") as f:
            f.write(text)
        print(f"updated {a.benchmarks_md} and {a.svg_dir}/")


if __name__ == "__main__":
    main()
