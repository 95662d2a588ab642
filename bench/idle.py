#!/usr/bin/env python3
"""Idle keep-alive connections: memory and what a fresh client sees (bench/run.sh).

  idle.py --server NAME --port P --tree PID --counts 1000,10000 --results F [--wrk-dur 5s]

For a freshly started server (KeepAliveTimeout long enough to outlive the test):
 1. the server's memory before any load: sum of PSS (and RSS) over all its processes
    (/proc/PID/smaps_rollup), recorded as n=0 (--fresh only: just this, at start-up);
 2. for each count N: open N connections to 127.0.0.1:P (at most --window connects in
    flight), send one keep-alive GET on each and read the whole response, keep them open;
    connections that get no answer in --resp-timeout are kept too (a prefork/worker server
    that is out of processes/threads leaves them in its accept queue);
 3. after --settle s: memory again (the growth over the memory just before step 2, divided
    by N, is the cost of an idle connection); then --probes fresh clients one after another (new
    connection, GET, full response; latency p50/p99/max), then a bounded wrk -c50 run;
 4. how many held connections the server still keeps open; close them all; record.
Only 127.0.0.1 is contacted; every wait has a deadline.
"""
import argparse
import errno
import json
import os
import resource
import selectors
import socket
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib  # noqa: E402

HOST = "127.0.0.1"


def request(path):
    return f"GET {path} HTTP/1.1\r\nHost: {HOST}\r\nUser-Agent: rhttpd-bench-idle\r\n\r\n".encode()


def complete(buf):
    i = buf.find(b"\r\n\r\n")
    if i < 0:
        return False
    for line in buf[:i].decode("latin-1").lower().split("\r\n")[1:]:
        if line.startswith("content-length:"):
            return len(buf) - i - 4 >= int(line.split(":", 1)[1])
    return True


def hold(port, n, path, resp_timeout, window):
    """Open n connections, one request each; return (socks, answered, errors, seconds)."""
    sel = selectors.DefaultSelector()
    req = request(path)
    socks, state, bufs = [], {}, {}
    errors = {}
    answered = 0
    inflight = 0
    opened = 0
    t0 = time.time()
    deadline = t0 + resp_timeout

    def fail(s, why):
        nonlocal inflight
        errors[why] = errors.get(why, 0) + 1
        state[s] = "error"
        inflight -= 1
        try:
            sel.unregister(s)
        except (KeyError, ValueError):
            pass

    while time.time() < deadline and (opened < n or inflight > 0):
        while opened < n and inflight < window:
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setblocking(False)
            opened += 1
            socks.append(s)
            rc = s.connect_ex((HOST, port))
            inflight += 1
            if rc not in (0, errno.EINPROGRESS):
                fail(s, errno.errorcode.get(rc, str(rc)))
                continue
            state[s] = "connect"
            bufs[s] = b""
            sel.register(s, selectors.EVENT_WRITE)
        for key, _ in sel.select(timeout=0.1):
            s = key.fileobj
            if state[s] == "connect":
                err = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                if err:
                    fail(s, errno.errorcode.get(err, str(err)))
                    continue
                try:
                    s.send(req)
                except OSError as e:
                    fail(s, type(e).__name__)
                    continue
                state[s] = "wait"
                sel.modify(s, selectors.EVENT_READ)
            else:
                try:
                    d = s.recv(65536)
                except BlockingIOError:
                    continue
                except OSError as e:
                    fail(s, type(e).__name__)
                    continue
                if not d:
                    fail(s, "closed")
                    continue
                bufs[s] += d
                if complete(bufs[s]):
                    state[s] = "idle"
                    answered += 1
                    inflight -= 1
                    sel.unregister(s)
    pending = sum(1 for s in socks if state.get(s) in ("connect", "wait"))
    if pending:
        errors[f"no answer in {resp_timeout:g}s"] = pending
    if opened < n:
        errors[f"not opened in {resp_timeout:g}s"] = n - opened
    sel.close()
    return socks, state, answered, errors, round(time.time() - t0, 2)


def probe_once(port, path, timeout):
    t0 = time.perf_counter()
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(timeout)
    try:
        s.connect((HOST, port))
        s.sendall(request(path))
        buf = b""
        while not complete(buf):
            d = s.recv(65536)
            if not d:
                return None, "closed"
            buf += d
        ok = buf.split(b" ", 2)[1] == b"200"
        return (time.perf_counter() - t0) * 1000.0, None if ok else "status"
    except socket.timeout:
        return None, "timeout"
    except OSError as e:
        return None, type(e).__name__
    finally:
        s.close()


def pct(v, p):
    v = sorted(v)
    return v[min(len(v) - 1, int(round(p / 100.0 * (len(v) - 1))))] if v else None


def probes(port, path, n, timeout):
    lat, fails = [], {}
    done = 0
    for _ in range(n):
        ms, err = probe_once(port, path, timeout)
        done += 1
        if err:
            fails[err] = fails.get(err, 0) + 1
            if not lat and done >= 3:
                break  # the server takes no new clients: stop after 3 straight failures
        else:
            lat.append(ms)
        time.sleep(0.02)
    return {"n": done, "ok": len(lat), "p50_ms": pct(lat, 50), "p99_ms": pct(lat, 99),
            "max_ms": max(lat) if lat else None, "fail": fails}


def still_open(socks, state):
    alive = gone = 0
    for s in socks:
        if state.get(s) not in ("idle", "connect", "wait"):
            continue
        try:
            d = s.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT)
            if d:
                alive += 1
            else:
                gone += 1
        except BlockingIOError:
            alive += 1
        except OSError:
            gone += 1
    return alive, gone


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--server", required=True)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--tree", type=int, required=True)
    ap.add_argument("--counts", default="1000")
    ap.add_argument("--skip-above", type=int, default=0,
                    help="record counts above this as n/a (process/thread per connection)")
    ap.add_argument("--skip-why", default="")
    ap.add_argument("--path", default="/index.html")
    ap.add_argument("--results", required=True)
    ap.add_argument("--resp-timeout", type=float, default=20.0)
    ap.add_argument("--window", type=int, default=500)
    ap.add_argument("--settle", type=float, default=2.0)
    ap.add_argument("--probes", type=int, default=20)
    ap.add_argument("--probe-timeout", type=float, default=3.0)
    ap.add_argument("--wrk-dur", default="5s")
    ap.add_argument("--wrk-out", default="/dev/null")
    ap.add_argument("--fresh", choices=["record", "only", "skip"], default="record",
                    help="record the fresh server's memory first (default), only that, or not")
    a = ap.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))

    fresh = benchlib.tree_stats(a.tree)
    if a.fresh != "skip":
        benchlib.append(a.results, {"kind": "idle", "server": a.server, "n": 0, "held": fresh,
                                    "ts": time.strftime("%Y-%m-%dT%H:%M:%S")})
        print(f"  [{a.server}] fresh: procs={fresh['procs']} threads={fresh['threads']} "
              f"PSS={fresh['pss_kb'] / 1024:.1f}MiB RSS={fresh['rss_kb'] / 1024:.1f}MiB", flush=True)
    if a.fresh == "only":
        return
    counts = [int(x) for x in a.counts.split(",") if x]
    for n in counts:
        if a.skip_above and n > a.skip_above:
            benchlib.append(a.results, {"kind": "skip", "server": a.server, "test": f"idle{n}",
                                        "why": a.skip_why})
            print(f"  [{a.server}] idle {n}: n/a ({a.skip_why})", flush=True)
            continue
        base = benchlib.tree_stats(a.tree)
        socks, state, answered, errors, secs = hold(a.port, n, a.path, a.resp_timeout, a.window)
        time.sleep(a.settle)
        held = benchlib.tree_stats(a.tree)
        pr = probes(a.port, a.path, a.probes, a.probe_timeout)
        rec = {"kind": "idle", "server": a.server, "n": n, "base": base, "held": held,
               "fresh": fresh, "answered": answered, "open_s": secs, "errors": errors,
               "probe": pr, "ts": time.strftime("%Y-%m-%dT%H:%M:%S")}
        if a.wrk_dur and a.wrk_dur != "0":
            rc, text, meas = benchlib.run_wrk(
                ["wrk", "-t2", "-c50", "-d" + a.wrk_dur, "--latency",
                 f"http://{HOST}:{a.port}{a.path}"], a.tree, a.wrk_out, 40)
            w = benchlib.parse_wrk(text)
            w.update(meas)
            w["rc"] = rc
            rec["wrk"] = w
        rec["still_open"], rec["closed_by_server"] = still_open(socks, state)
        for s in socks:
            s.close()
        benchlib.append(a.results, rec)
        w = rec.get("wrk", {})
        print(f"  [{a.server}] idle {n}: answered={answered} in {secs}s still_open={rec['still_open']} "
              f"errors={errors} PSS {fresh['pss_kb'] / 1024:.1f} -> {held['pss_kb'] / 1024:.1f}MiB "
              f"({(held['pss_kb'] - base['pss_kb']) / max(1, n):.2f} KiB/conn) procs={held['procs']} "
              f"threads={held['threads']} | fresh clients ok={pr['ok']}/{pr['n']} "
              f"p50={pr['p50_ms']} p99={pr['p99_ms']} fail={pr['fail']} | wrk c50 "
              f"rps={w.get('rps')} p99={w.get('p99_ms')} err={w.get('errors')}", flush=True)
        if n != counts[-1]:
            time.sleep(1.0)  # let the server notice the closes before the next count


if __name__ == "__main__":
    main()
