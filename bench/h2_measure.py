#!/usr/bin/env python3
"""HTTP/2 load runs for bench/run.sh's `h2` phase (Python 3 standard library only).

  h2_measure.py run --server S --test T --round R --tree PID --out RAW.txt --results F
                    --log LOG.tsv --timeout SECONDS -- h2load ARGS... --log-file LOG.tsv URL

Runs one bounded h2load (count -n and a hard deadline), measures the CPU split with
benchlib (server process tree / h2load / the rest of the machine) and the server's CPU
time per request, computes latency percentiles from h2load's per-request log (--log-file:
start time, status, microseconds until the end of the response; h2load itself prints only
min / max / mean / sd), checks that the protocol negotiated was HTTP/2, and appends one
record (kind "h2load") to --results. The log is deleted afterwards (it holds one line per
request); the raw h2load output is kept.

Server CPU: the larger of utime+stime summed over the server's processes (/proc/PID/stat,
benchlib's method for the HTTP/1.1 phases) and the scheduler's run time of its threads
(/proc/PID/task/TID/schedstat, tls_measure.py's method): both are lower bounds (ticks can
miss short bursts, schedstat misses threads that exited), and neither happens much here.
"""
import argparse
import json
import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib  # noqa: E402


def sched_ns(root):
    total = 0
    for p in benchlib.descendants(root):
        try:
            tids = os.listdir(f"/proc/{p}/task")
        except OSError:
            continue
        for t in tids:
            v = benchlib._read(f"/proc/{p}/task/{t}/schedstat")
            if v:
                total += int(v.split()[0])
    return total


_UNIT_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def _ms(tok):
    m = re.match(r"^([0-9.]+)(us|ms|s)$", tok or "")
    return float(m.group(1)) * _UNIT_MS[m.group(2)] if m else None


def parse_h2load(text):
    r = {}
    m = re.search(r"finished in ([0-9.]+(?:us|ms|s)), ([0-9.]+) req/s", text)
    r["h2load_secs"] = round(_ms(m.group(1)) / 1000.0, 4) if m else None
    r["rps"] = float(m.group(2)) if m else None
    m = re.search(r"requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, "
                  r"(\d+) failed, (\d+) errored, (\d+) timeout", text)
    if m:
        total, _started, done, ok, failed, errored, tmo = map(int, m.groups())
        r.update(requests=done, succeeded=ok, failed=failed, errored=errored, timeouts=tmo,
                 requested=total)
    m = re.search(r"status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx", text)
    r["non2xx"] = sum(int(x) for x in m.groups()[1:]) if m else None
    if "requests" in r:
        r["errors"] = r["failed"] + r["errored"] + r["timeouts"] + (r["non2xx"] or 0)
    else:
        r["errors"] = None
    m = re.search(r"Application protocol: (\S+)", text)
    r["proto"] = m.group(1) if m else None
    m = re.search(r"^time for request:\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)", text, re.M)
    if m:
        r["min_ms"], r["max_ms"], r["mean_ms"], r["sd_ms"] = (_ms(x) for x in m.groups())
    return r


def pct(sorted_v, p):
    if not sorted_v:
        return None
    k = min(len(sorted_v) - 1, max(0, int(round(p / 100.0 * len(sorted_v) + 0.5)) - 1))
    return sorted_v[k]


def log_latency(path):
    """p50 / p90 / p99 / max (ms) over the successful requests of an h2load --log-file."""
    v = []
    bad = 0
    try:
        with open(path) as f:
            for line in f:
                parts = line.split("\t")
                if len(parts) < 3:
                    continue
                if parts[1].strip() == "-1":
                    bad += 1
                    continue
                v.append(int(parts[2]))
    except OSError:
        return {}
    v.sort()
    out = {"logged": len(v), "logged_failed": bad}
    for p in (50, 90, 99):
        x = pct(v, p)
        out[f"p{p}_ms"] = round(x / 1000.0, 3) if x is not None else None
    if v:
        out["max_ms"] = round(v[-1] / 1000.0, 3)
    return out


def cmd_run(a):
    cmd = a.cmd[1:] if a.cmd[:1] == ["--"] else a.cmd
    try:
        os.unlink(a.log)
    except OSError:
        pass
    q0 = sched_ns(a.tree) if a.tree else 0
    rc, text, meas = benchlib.run_wrk(cmd, a.tree, a.out, a.timeout)
    if a.tree:
        q1 = sched_ns(a.tree)
        ticks_pct = meas["cpu_server_pct"]
        sched_pct = round((q1 - q0) / 1e9 / meas["wall_s"] * 100.0, 1)
        meas["cpu_server_ticks_pct"] = ticks_pct
        meas["cpu_server_sched_pct"] = sched_pct
        meas["cpu_server_pct"] = max(ticks_pct, sched_pct)
        meas["cpu_other_pct"] = round(max(0.0, meas["cpu_busy_pct"] - meas["cpu_server_pct"]
                                          - meas["cpu_wrk_pct"]), 1)
    rec = {"kind": "h2load", "server": a.server, "test": a.test, "round": a.round,
           "conns": a.conns, "streams": a.streams, "cmd": " ".join(cmd), "rc": rc,
           "ts": time.strftime("%Y-%m-%dT%H:%M:%S"), "raw": os.path.basename(a.out)}
    rec.update(parse_h2load(text))
    lat = log_latency(a.log)
    rec.update(lat)
    if not a.keep_log:
        try:
            os.unlink(a.log)
        except OSError:
            pass
    rec.update(meas)
    if rec.get("proto") not in ("h2", "h2c"):
        rec["errors"] = rec.get("errors") or rec.get("requests") or 1
        rec["not_h2"] = True
    if rec.get("requests"):
        # CPU time over the whole h2load run (connection set-up included) / requests done
        rec["server_us_per_req"] = round(
            meas["cpu_server_pct"] / 100.0 * meas["wall_s"] / rec["requests"] * 1e6, 1)
        rec["client_us_per_req"] = round(
            meas["cpu_wrk_pct"] / 100.0 * meas["wall_s"] / rec["requests"] * 1e6, 1)
        rec["ctxsw_per_req"] = round(meas["ctxsw_server"] / rec["requests"], 2)
    rec["noisy"] = meas["cpu_other_pct"] > a.noisy_above
    benchlib.append(a.results, rec)
    p = ""
    if rec.get("p99_ms") is not None:
        p = f" p50={rec['p50_ms']:.2f}ms p99={rec['p99_ms']:.2f}ms"
    print(f"  [{a.server}] {a.test}#{a.round}: rps={rec.get('rps')}{p} proto={rec.get('proto')} "
          f"err={rec.get('errors')} srv={rec.get('server_us_per_req')}us/req "
          f"cpu srv={meas['cpu_server_pct']}% h2load={meas['cpu_wrk_pct']}% "
          f"other={meas['cpu_other_pct']}% rc={rc}{' NOISY' if rec['noisy'] else ''}", flush=True)


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="sub", required=True)
    p = sub.add_parser("run")
    p.add_argument("--server", required=True)
    p.add_argument("--test", required=True)
    p.add_argument("--round", type=int, default=1)
    p.add_argument("--conns", type=int)
    p.add_argument("--streams", type=int)
    p.add_argument("--tree", type=int, default=0)
    p.add_argument("--out", required=True)
    p.add_argument("--log", required=True, help="the path given to h2load --log-file")
    p.add_argument("--keep-log", action="store_true")
    p.add_argument("--results", required=True)
    p.add_argument("--timeout", type=float, default=60.0)
    p.add_argument("--noisy-above", type=float, default=30.0)
    p.add_argument("cmd", nargs=argparse.REMAINDER)
    a = ap.parse_args()
    if a.sub == "run":
        cmd_run(a)


if __name__ == "__main__":
    main()
