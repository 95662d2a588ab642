#!/usr/bin/env python3
"""Render bench/run.sh's h2 phase: Markdown tables with ratios, BENCHMARKS.md's HTTP/2 section.

  h2_report.py --results OUT/results.jsonl --out OUT [--benchmarks-md BENCHMARKS.md
               [--results-copy bench/results/h2-results.jsonl]]

Reads the "h2load", "h2_idle", "skip" and "env" records, writes OUT/h2-report.md. With
--benchmarks-md, replaces the text between the h2 GENERATED markers of that file (and only
that text) with the report, and copies the raw results to --results-copy. Standard library only.

Per server and test: req/s is the median over rounds (runs flagged noisy are left out when a
clean one exists), p50 / p99 latency and server CPU µs per request the medians over the same
runs; ratios are rhttpd's median over the peer's median from the same run.
"""
import argparse
import json
import os
import re
import shutil
import statistics

BEGIN = "<!-- BEGIN GENERATED (bench/run.sh h2) -->"
END = "<!-- END GENERATED (bench/run.sh h2) -->"
ORDER = ["rhttpd-worker", "rhttpd-event", "apache-worker", "apache-event", "nginx", "h2o",
         "lighttpd", "rhttpd-prefork", "apache-prefork"]
TESTS = [("h2c_c50m10", "h2c (cleartext, prior knowledge)"),
         ("h2tls_c50m10", "h2 over TLS (ALPN)")]
RHTTPD = ["rhttpd-event", "rhttpd-worker"]


def load(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


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


def fmt_x(r):
    return "-" if r is None else f"{r:.2f}x"


def fmt_us(v):
    return "-" if v is None else f"{v:.1f}"


def med(v):
    v = [x for x in v if x is not None]
    return statistics.median(v) if v else None


class Run:
    def __init__(self, recs):
        self.env = next((r for r in recs if r.get("kind") == "env"), {})
        self.h2 = [r for r in recs if r.get("kind") == "h2load"]
        self.idle = [r for r in recs if r.get("kind") == "h2_idle"]
        self.skips = [r for r in recs if r.get("kind") == "skip"
                      and any(r.get("test") == t for t, _ in TESTS)]

    def runs(self, server, test):
        all_ = [r for r in self.h2 if r["server"] == server and r["test"] == test
                and r.get("rps") and not r.get("not_h2")]
        clean = [r for r in all_ if not r.get("noisy")]
        return clean or all_, len(all_) - len(clean)

    def stat(self, server, test):
        runs, noisy = self.runs(server, test)
        if not runs:
            return None
        rps = [r["rps"] for r in runs]
        clean = not all(r.get("noisy") for r in runs)
        return {"n": len(runs), "noisy_left_out": noisy if clean else 0,
                "rps": med(rps), "min": min(rps), "max": max(rps),
                "p50": med(r.get("p50_ms") for r in runs), "p99": med(r.get("p99_ms") for r in runs),
                "us": med(r.get("server_us_per_req") for r in runs),
                "cli_us": med(r.get("client_us_per_req") for r in runs),
                "srv_pct": med(r.get("cpu_server_pct") for r in runs),
                "cli_pct": med(r.get("cpu_wrk_pct") for r in runs),
                "other_pct": med(r.get("cpu_other_pct") for r in runs),
                "cs": med(r.get("ctxsw_per_req") for r in runs),
                "errors": sum(r.get("errors") or 0 for r in runs),
                "requests": sum(r.get("requests") or 0 for r in runs),
                "proto": runs[0].get("proto"), "all_noisy": all(r.get("noisy") for r in runs)}

    def servers(self):
        seen = {r["server"] for r in self.h2} | {r["server"] for r in self.skips}
        return [s for s in ORDER if s in seen] + sorted(seen - set(ORDER))

    def ratio(self, a, b, test, key="rps"):
        sa, sb = self.stat(a, test), self.stat(b, test)
        if not sa or not sb or not sb[key]:
            return None
        return sa[key] / sb[key]


def same_mpm_apache(server):
    return "apache-" + server.split("-", 1)[1] if server.startswith("rhttpd-") else None


def render(run, results_name):
    env = run.env
    out = []
    ts = env.get("ts", "?")
    out.append(f"### HTTP/2 run: {ts}")
    out.append("")
    out.append(f"- machine: {env.get('nproc', '?')} CPUs ({env.get('cpu', '?')}), {env.get('mem', '?')} RAM, "
               f"{env.get('kernel', '?')}")
    out.append(f"- versions: {env.get('rhttpd', '?')}; {env.get('apache', '?')}; {env.get('nginx', '?')}; "
               f"{env.get('h2o', '?')}; {env.get('lighttpd', '?')}; {env.get('h2load', '?')}; "
               f"{env.get('openssl', '?')}")
    out.append(f"- settings: `{env.get('settings_h2', '?')}`; mode {env.get('mode', '?')}; "
               f"servers `{env.get('servers', '?')}`")
    cmd = next((r["cmd"] for r in run.h2 if r.get("cmd")), None)
    if cmd and "h2load " in cmd:   # drop the `timeout -k 2 N` in front, shorten the log path
        c = re.sub(r"--log-file \S+", "--log-file LOG", cmd.split("h2load ", 1)[1])
        out.append(f"- client, e.g.: `h2load {c}` (under `timeout`)")
    out.append(f"- raw records: `{results_name}`")
    out.append("")

    # targets
    out.append("#### Targets (issue: ≥ 3x Apache event, ≥ 1.0x nginx, goal ≥ 1.0x h2o), rhttpd-event")
    out.append("")
    out.append("| test | vs Apache event (≥ 3x) | vs nginx (≥ 1.0x) | vs h2o (goal ≥ 1.0x) | vs lighttpd | "
               "server CPU µs/req: rhttpd-event / Apache event / nginx / h2o / lighttpd |")
    out.append("|---|---|---|---|---|---|")
    for test, label in TESTS:
        cells = []
        for peer, bar in (("apache-event", 3.0), ("nginx", 1.0), ("h2o", 1.0), ("lighttpd", None)):
            r = run.ratio("rhttpd-event", peer, test)
            if r is None:
                cells.append("n/a")
            elif bar is None:
                cells.append(fmt_x(r))
            else:
                cells.append(f"{fmt_x(r)} {'✅' if r >= bar else '❌'}")
        us = []
        for s in ("rhttpd-event", "apache-event", "nginx", "h2o", "lighttpd"):
            st = run.stat(s, test)
            us.append(fmt_us(st["us"] if st else None))
        out.append(f"| {label} | " + " | ".join(cells) + " | " + " / ".join(us) + " |")
    out.append("")

    for test, label in TESTS:
        out.append(f"#### {label}: `{test}`")
        out.append("")
        out.append("| server | rounds | req/s median [min – max] | p50 / p99 | server CPU µs/req | "
                   "h2load µs/req | CPU % server / h2load / other | vs h2o | vs nginx | vs Apache event | "
                   "vs Apache same MPM | errors |")
        out.append("|---|---|---|---|---|---|---|---|---|---|---|---|")
        for s in run.servers():
            skip = next((r["why"] for r in run.skips if r["server"] == s and r["test"] == test), None)
            st = run.stat(s, test)
            if not st:
                why = skip or "no successful run"
                out.append(f"| {s} | - | n/a ({why}) | - | - | - | - | - | - | - | - | - |")
                continue
            rounds = f"{st['n']}" + (f" (+{st['noisy_left_out']} noisy left out)" if st["noisy_left_out"] else "")
            if st["all_noisy"]:
                rounds += " ⚠"
            vs = []
            for peer in ("h2o", "nginx", "apache-event"):
                vs.append("-" if peer == s else fmt_x(run.ratio(s, peer, test)))
            ap = same_mpm_apache(s)
            vs.append(fmt_x(run.ratio(s, ap, test)) if ap else "-")
            out.append(
                f"| {s} | {rounds} | **{fmt_rps(st['rps'])}** [{fmt_rps(st['min'])} – {fmt_rps(st['max'])}] | "
                f"{fmt_ms(st['p50'])} / {fmt_ms(st['p99'])} | "
                f"{fmt_us(st['us'])} | {fmt_us(st['cli_us'])} | "
                f"{st['srv_pct']:.0f} / {st['cli_pct']:.0f} / {st['other_pct']:.0f} | "
                + " | ".join(vs) + f" | {st['errors']} |")
        out.append("")

    if run.idle:
        out.append("#### Idle HTTP/2 connections (bench/h2_idle.py: h2c prior knowledge, one GET each, then held)")
        out.append("")
        out.append("ΔPSS per connection = growth of the sum of PSS over the server's processes while they "
                   "are held, over its memory just before, divided by the connections still open. "
                   "*fresh*: before any load test (memory the server must commit for them); "
                   "*after load*: after the h2load tests (the allocator may reuse memory the load left free).")
        out.append("")
        out.append("*marginal*: the same again for the connections added next, the first ones still held "
                   "(one-off costs of the first connections, such as a thread pool's first touch of its "
                   "threads' stacks and caches, are out of it).")
        out.append("")
        out.append("| server | held / opened | fresh: PSS before → held | fresh: ΔPSS per conn "
                   "(marginal) | after load: PSS before → held | after load: ΔPSS per conn (marginal) |")
        out.append("|---|---|---|---|---|---|")
        idle = {}
        for r in run.idle:
            idle.setdefault(r["server"], {})[r.get("when") or "fresh"] = r
        for s in [x for x in ORDER if x in idle] + sorted(set(idle) - set(ORDER)):
            r0 = idle[s].get("fresh") or next(iter(idle[s].values()))
            cells = [f"{r0['held']:,} / {r0['conns']:,}"
                     + (f" (+{r0['held_total'] - r0['held']:,} / {r0['more']:,})" if r0.get("more") else "")]
            for when in ("fresh", "after_load"):
                r = idle[s].get(when)
                if not r:
                    cells += ["-", "-"]
                    continue
                cells.append(f"{r['pss_before_kb'] / 1024:.1f} → {r['pss_after_kb'] / 1024:.1f} MiB"
                             + (f" ({r['failed']} failed)" if r.get("failed") else ""))
                marg = r.get("marginal_per_conn_kib")
                cells.append(f"**{r['pss_per_conn_kib']:.1f} KiB**"
                             + (f" ({marg:.1f} KiB)" if marg is not None else ""))
            out.append(f"| {s} | " + " | ".join(cells) + " |")
        out.append("")
    notes = sorted({(r["server"], r["why"]) for r in run.skips})
    if notes:
        out.append("Not measured: " + "; ".join(f"{s}: {w}" for s, w in notes) + ".")
        out.append("")
    return "\n".join(out)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--results", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--benchmarks-md")
    ap.add_argument("--results-copy")
    a = ap.parse_args()
    run = Run(load(a.results))
    copy = a.results_copy or (os.path.join(os.path.dirname(os.path.abspath(a.benchmarks_md)), "bench",
                                           "results", "h2-results.jsonl") if a.benchmarks_md else None)
    name = os.path.relpath(copy, os.path.dirname(os.path.abspath(a.benchmarks_md))) if copy else a.results
    text = render(run, name)
    os.makedirs(a.out, exist_ok=True)
    with open(os.path.join(a.out, "h2-report.md"), "w") as f:
        f.write(text + "\n")
    print(text)
    if a.benchmarks_md:
        with open(a.benchmarks_md) as f:
            md = f.read()
        i, j = md.find(BEGIN), md.find(END)
        if i < 0 or j < i:
            raise SystemExit(f"{a.benchmarks_md}: no '{BEGIN}' ... '{END}' markers; left alone")
        md = md[:i + len(BEGIN)] + "\n" + text + "\n" + md[j:]
        with open(a.benchmarks_md, "w") as f:
            f.write(md)
        os.makedirs(os.path.dirname(copy), exist_ok=True)
        shutil.copyfile(a.results, copy)


if __name__ == "__main__":
    main()
