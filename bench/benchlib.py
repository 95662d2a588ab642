#!/usr/bin/env python3
"""Measurement helpers for bench/run.sh (Python 3 standard library only).

Subcommands:
  docroot DIR                 write the document root: index.html (1024 bytes), 100k.bin, 1m.bin
  pids ROOT                   ROOT and every descendant process, one per line
  tree ROOT                   JSON: processes, threads, sum of RSS and PSS (KiB) of ROOT's tree
  wrk --server S --test T ... -- wrk ARGS
                              run one bounded wrk, measure the CPU split (server tree / wrk /
                              rest of the machine) and the server's context switches, parse the
                              output, append one JSON record to --results
  skip --server S --test T --why TEXT --results F
                              record that a test does not apply / could not run
  env --results F KEY=VALUE.. record the machine and versions
"""
import argparse
import json
import os
import re
import signal
import subprocess
import sys
import time

CLK_TCK = os.sysconf("SC_CLK_TCK")
NCPU = os.cpu_count() or 1


# ------------------------------------------------------------------ /proc
def _read(path):
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return None


def _stat(pid):
    """Fields of /proc/PID/stat after the command name; index 0 is field 3 (state)."""
    s = _read(f"/proc/{pid}/stat")
    if s is None:
        return None
    return s[s.rfind(")") + 2:].split()


def descendants(root):
    """root and all processes below it (by parent PID)."""
    root = int(root)
    kids = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            f = _stat(d)
            if f:
                kids.setdefault(int(f[1]), []).append(int(d))
    out, todo = [], [root]
    while todo:
        p = todo.pop()
        if os.path.exists(f"/proc/{p}"):
            out.append(p)
        todo.extend(kids.get(p, []))
    return out


def tree_stats(root):
    procs = threads = rss = pss = 0
    for p in descendants(root):
        f = _stat(p)
        if f is None:
            continue
        procs += 1
        threads += int(f[17])
        roll = _read(f"/proc/{p}/smaps_rollup") or ""
        for line in roll.splitlines():
            if line.startswith("Rss:"):
                rss += int(line.split()[1])
            elif line.startswith("Pss:"):
                pss += int(line.split()[1])
    return {"procs": procs, "threads": threads, "rss_kb": rss, "pss_kb": pss}


def snapshot(root):
    """(CPU ticks, context switches) of ROOT's tree. Ticks include cutime/cstime of every
    process: a process that exits is folded into its reaper's, so the sum stays consistent
    when prefork children or CGI scripts come and go between two snapshots."""
    ticks = cs = 0
    for p in descendants(root):
        f = _stat(p)
        if f is None:
            continue
        ticks += int(f[11]) + int(f[12]) + int(f[13]) + int(f[14])
        try:
            tids = os.listdir(f"/proc/{p}/task")
        except OSError:
            continue
        for t in tids:
            for line in (_read(f"/proc/{p}/task/{t}/status") or "").splitlines():
                if line.startswith(("voluntary_ctxt", "nonvoluntary_ctxt")):
                    cs += int(line.split()[1])
    return ticks, cs


def machine_ticks():
    v = [int(x) for x in _read("/proc/stat").splitlines()[0].split()[1:]]
    return sum(v[:8]), v[3] + v[4]  # total, idle (idle + iowait)


# ------------------------------------------------------------------ wrk output
_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}
_B = {"B": 1, "KB": 1024, "MB": 1024 ** 2, "GB": 1024 ** 3}


def _ms(tok):
    m = re.match(r"^([0-9.]+)(us|ms|s|m)$", tok or "")
    return float(m.group(1)) * _MS[m.group(2)] if m else None


def _bytes(tok):
    m = re.match(r"^([0-9.]+)([KMG]?B)$", tok or "")
    return float(m.group(1)) * _B[m.group(2)] if m else None


def parse_wrk(text):
    r = {}
    m = re.search(r"Requests/sec:\s+([0-9.]+)", text)
    r["rps"] = float(m.group(1)) if m else None
    m = re.search(r"Transfer/sec:\s+(\S+)", text)
    r["bytes_per_s"] = _bytes(m.group(1)) if m else None
    for pct in ("50", "90", "99"):
        m = re.search(r"^\s+%s%%\s+(\S+)" % pct, text, re.M)
        r[f"p{pct}_ms"] = _ms(m.group(1)) if m else None
    m = re.search(r"^\s+Latency\s+(\S+)\s+(\S+)\s+(\S+)", text, re.M)
    r["max_ms"] = _ms(m.group(3)) if m else None
    m = re.search(r"(\d+) requests in", text)
    r["requests"] = int(m.group(1)) if m else None
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    errs = [int(x) for x in m.groups()] if m else [0, 0, 0, 0]
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    r["errors"] = sum(errs) + (int(m.group(1)) if m else 0)
    r["err_detail"] = dict(zip(("connect", "read", "write", "timeout"), errs))
    r["non2xx"] = int(m.group(1)) if m else 0
    return r


def run_wrk(cmd, tree, out_path, timeout_s):
    """Run one load generator with a hard deadline; return (rc, text, measurements)."""
    s0, c0 = snapshot(tree) if tree else (0, 0)
    m0, idle0 = machine_ticks()
    t0 = time.time()
    with open(out_path, "w") as out:
        p = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT)

        def stop(signum, _frame):  # kill the wrk we started (by PID) and leave
            p.kill()
            sys.exit(128 + signum)
        old = signal.signal(signal.SIGTERM, stop)
        while True:
            pid, status, ru = os.wait4(p.pid, os.WNOHANG)
            if pid:
                rc = os.waitstatus_to_exitcode(status)
                break
            if time.time() - t0 > timeout_s:
                p.kill()
                _, status, ru = os.wait4(p.pid, 0)
                rc = -9
                break
            time.sleep(0.05)
        signal.signal(signal.SIGTERM, old)
    wall = time.time() - t0
    m1, idle1 = machine_ticks()  # before the (slow for big trees) snapshot
    s1, c1 = snapshot(tree) if tree else (0, 0)
    dt = max(1, m1 - m0)
    busy = (dt - (idle1 - idle0)) / dt * NCPU * 100.0
    srv = (s1 - s0) / CLK_TCK / wall * 100.0
    cli = (ru.ru_utime + ru.ru_stime) / wall * 100.0
    meas = {"wall_s": round(wall, 2), "cpu_server_pct": round(srv, 1),
            "cpu_wrk_pct": round(cli, 1), "cpu_busy_pct": round(busy, 1),
            # everything else: other processes on the machine, kernel threads (softirq work
            # for loopback is partly here), steal
            "cpu_other_pct": round(max(0.0, busy - srv - cli), 1),
            "ctxsw_server": c1 - c0}
    with open(out_path) as f:
        return rc, f.read(), meas


# ------------------------------------------------------------------ commands
def cmd_docroot(a):
    d = a.dir
    os.makedirs(d, exist_ok=True)
    head = "<!DOCTYPE html><html><head><title>bench</title></head><body><p>"
    tail = "</p></body></html>"
    n = 1024 - len(head) - len(tail)
    alpha = "abcdefghijklmnopqrstuvwxyz0123456789"
    body = (alpha * (n // len(alpha) + 1))[:n]
    with open(os.path.join(d, "index.html"), "w") as f:
        f.write(head + body + tail)  # exactly 1024 bytes
    pat = bytes(range(256))
    for name, size in (("100k.bin", 100 * 1024), ("1m.bin", 1024 * 1024)):
        with open(os.path.join(d, name), "wb") as f:
            f.write(pat * (size // 256))
    for name in os.listdir(d):
        os.chmod(os.path.join(d, name), 0o644)
    os.chmod(d, 0o755)


def append(results, rec):
    with open(results, "a") as f:
        f.write(json.dumps(rec) + "\n")


def cmd_wrk(a):
    cmd = a.cmd[1:] if a.cmd[:1] == ["--"] else a.cmd
    rc, text, meas = run_wrk(cmd, a.tree, a.out, a.timeout)
    rec = {"kind": "wrk", "server": a.server, "test": a.test, "round": a.round,
           "conns": a.conns, "cmd": " ".join(cmd), "rc": rc,
           "ts": time.strftime("%Y-%m-%dT%H:%M:%S"), "raw": os.path.basename(a.out)}
    rec.update(parse_wrk(text))
    rec.update(meas)
    if rec.get("requests"):
        rec["ctxsw_per_req"] = round(meas["ctxsw_server"] / rec["requests"], 2)
        rec["server_us_per_req"] = round(
            meas["cpu_server_pct"] / 100.0 * meas["wall_s"] / rec["requests"] * 1e6, 1)
    # the machine is shared: flag runs during which other work took a lot of CPU
    rec["noisy"] = meas["cpu_other_pct"] > a.noisy_above
    append(a.results, rec)
    lat = ""
    if rec.get("p50_ms") is not None:
        lat = f" p50={rec['p50_ms']:.2f}ms p99={rec['p99_ms']:.2f}ms"
    print(f"  [{a.server}] {a.test}#{a.round}: rps={rec.get('rps')}{lat} err={rec['errors']} "
          f"cpu srv={meas['cpu_server_pct']}% wrk={meas['cpu_wrk_pct']}% "
          f"other={meas['cpu_other_pct']}% cs/req={rec.get('ctxsw_per_req')} rc={rc}"
          f"{' NOISY' if rec['noisy'] else ''}", flush=True)


def cmd_skip(a):
    append(a.results, {"kind": "skip", "server": a.server, "test": a.test, "why": a.why,
                       "ts": time.strftime("%Y-%m-%dT%H:%M:%S")})
    print(f"  [{a.server}] {a.test}: skipped ({a.why})", flush=True)


def cmd_env(a):
    rec = {"kind": "env", "ts": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    for kv in a.kv:
        k, _, v = kv.partition("=")
        rec[k] = v
    append(a.results, rec)


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="sub", required=True)
    p = sub.add_parser("docroot")
    p.add_argument("dir")
    p = sub.add_parser("pids")
    p.add_argument("pid", type=int)
    p = sub.add_parser("tree")
    p.add_argument("pid", type=int)
    p = sub.add_parser("wrk")
    p.add_argument("--server", required=True)
    p.add_argument("--test", required=True)
    p.add_argument("--round", type=int, default=1)
    p.add_argument("--conns", type=int)
    p.add_argument("--tree", type=int, default=0)
    p.add_argument("--out", required=True)
    p.add_argument("--results", required=True)
    p.add_argument("--timeout", type=float, default=60.0)
    p.add_argument("--noisy-above", type=float, default=30.0)
    p.add_argument("cmd", nargs=argparse.REMAINDER)
    p = sub.add_parser("skip")
    p.add_argument("--server", required=True)
    p.add_argument("--test", required=True)
    p.add_argument("--why", required=True)
    p.add_argument("--results", required=True)
    p = sub.add_parser("env")
    p.add_argument("--results", required=True)
    p.add_argument("kv", nargs="*")
    a = ap.parse_args()
    if a.sub == "docroot":
        cmd_docroot(a)
    elif a.sub == "pids":
        print("\n".join(map(str, descendants(a.pid))))
    elif a.sub == "tree":
        print(json.dumps(tree_stats(a.pid)))
    elif a.sub == "wrk":
        cmd_wrk(a)
    elif a.sub == "skip":
        cmd_skip(a)
    elif a.sub == "env":
        cmd_env(a)


if __name__ == "__main__":
    main()
