#!/usr/bin/env python3
"""Measurement helpers for bench/tls.sh (Python 3 standard library only; uses benchlib.py).

Subcommands:
  check --port P              one TLS connection + GET /index.html, then a second connection
                              offering the first one's session: prints protocol, cipher,
                              body size and whether the session was resumed (JSON)
  run --server S --test T --client NAME ... -- CMD...
                              run one bounded load generator (wrk, bench/tlsload, or the
                              `stime` subcommand below) with benchlib's CPU accounting, parse
                              its wrk-style output and the `Handshakes:` line, append one
                              record to --results (kind "wrk", as bench/run.sh's)
  stime --port P --mode new|reuse --procs N --time S [--path /index.html]
                              fallback client: N `openssl s_time` processes in parallel;
                              prints wrk-style totals (no latency) and a `Handshakes:` line
  idle --server S --port P --tree PID --n 1000 --results F [--status apache|nginx|none]
                              hold N idle TLS keep-alive connections (full handshake, one
                              GET each, then idle); memory growth, /server-status?auto (or
                              nginx's stub_status) while they are held, fresh clients'
                              latency meanwhile, optionally a bounded wrk -c50 run
Only 127.0.0.1 is contacted; every wait has a deadline.
"""
import argparse
import errno
import json
import os
import re
import resource
import selectors
import socket
import ssl
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib  # noqa: E402

HOST = "127.0.0.1"


def client_ctx():
    """What a client that does not check the certificate uses (wrk, curl -k)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    return ctx


def request(path, close=False):
    return (f"GET {path} HTTP/1.1\r\nHost: {HOST}\r\nUser-Agent: rhttpd-bench-tls\r\n"
            f"{'Connection: close' + chr(13) + chr(10) if close else ''}\r\n").encode()


def complete(buf):
    i = buf.find(b"\r\n\r\n")
    if i < 0:
        return False
    for line in buf[:i].decode("latin-1").lower().split("\r\n")[1:]:
        if line.startswith("content-length:"):
            return len(buf) - i - 4 >= int(line.split(":", 1)[1])
    return True


def dechunk(body):
    out, i = b"", 0
    while True:
        j = body.find(b"\r\n", i)
        if j < 0:
            return out
        size = int(body[i:j].split(b";")[0] or b"0", 16)
        if size == 0:
            return out
        out += body[j + 2:j + 2 + size]
        i = j + 2 + size + 2


def fetch(port, path, timeout, ctx=None, session=None, close=False):
    """One blocking TLS request on a new connection: (ms, status, body, info). close: send
    Connection: close and read to the end (for generated, possibly chunked, answers)."""
    ctx = ctx or client_ctx()
    t0 = time.perf_counter()
    raw = socket.create_connection((HOST, port), timeout=timeout)
    try:
        s = ctx.wrap_socket(raw, server_hostname=None, session=session)
        try:
            s.sendall(request(path, close))
            buf = b""
            while close or not complete(buf):
                try:
                    d = s.recv(65536)
                except (ssl.SSLEOFError, ssl.SSLZeroReturnError):
                    d = b""
                if not d:
                    break
                buf += d
            ms = (time.perf_counter() - t0) * 1000.0
            head, _, body = buf.partition(b"\r\n\r\n")
            if b"transfer-encoding: chunked" in head.lower():
                body = dechunk(body)
            status = head.split(b" ", 2)[1].decode() if head.startswith(b"HTTP/") else "?"
            info = {"version": s.version(), "cipher": (s.cipher() or ["?"])[0],
                    "resumed": s.session_reused, "session": s.session}
            return ms, status, body, info
        finally:
            s.close()
    finally:
        raw.close()


# ------------------------------------------------------------------ check
def cmd_check(a):
    out = {"ok": False}
    try:
        ctx = client_ctx()
        _, st, body, i1 = fetch(a.port, a.path, 5, ctx)
        _, st2, _, i2 = fetch(a.port, a.path, 5, ctx, session=i1["session"])
        out = {"ok": st == "200" and st2 == "200", "status": st, "bytes": len(body),
               "version": i1["version"], "cipher": i1["cipher"], "resumption": i2["resumed"]}
    except (OSError, ssl.SSLError) as e:
        out["error"] = f"{type(e).__name__}: {e}"
    print(json.dumps(out))


# ------------------------------------------------------------------ run
def parse_handshakes(text):
    m = re.search(r"^Handshakes: full (\d+) resumed (\d+)(?: hello-retry (\d+))?;?\s*(.*)$", text, re.M)
    if not m:
        return None, None
    return ({"full": int(m.group(1)), "resumed": int(m.group(2)), "hrr": int(m.group(3) or 0)},
            m.group(4).strip() or None)


def sched_ns(root):
    """CPU time (ns) of every live thread of ROOT's tree, from /proc/PID/task/TID/schedstat: the
    scheduler's own run time, not tick samples. On a tick-accounted kernel utime/stime in
    /proc/PID/stat (what benchlib sums) can miss most of the time of processes that run in
    short bursts: 1,024 prefork children doing one handshake each were charged 30 ms for
    2.9 s of CPU. Threads that exit during a run are not counted here (none do in these
    tests: no CGI, MaxConnectionsPerChild 0, no spare-server trimming)."""
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


def cmd_run(a):
    cmd = a.cmd[1:] if a.cmd[:1] == ["--"] else a.cmd
    q0 = sched_ns(a.tree) if a.tree else 0
    rc, text, meas = benchlib.run_wrk(cmd, a.tree, a.out, a.timeout)
    m = re.search(r"^Client CPU: ([0-9.]+)s", text, re.M)
    if m:  # tlsload's own schedstat total: the rusage ticks can miss its short bursts too
        meas["cpu_wrk_ticks_pct"] = meas["cpu_wrk_pct"]
        meas["cpu_wrk_pct"] = max(meas["cpu_wrk_pct"],
                                  round(float(m.group(1)) / meas["wall_s"] * 100.0, 1))
    if a.tree:
        q1 = sched_ns(a.tree)
        ticks_pct = meas["cpu_server_pct"]
        sched_pct = round((q1 - q0) / 1e9 / meas["wall_s"] * 100.0, 1)
        # the larger of the two lower bounds (ticks miss short bursts; schedstat misses exited threads)
        meas["cpu_server_ticks_pct"] = ticks_pct
        meas["cpu_server_sched_pct"] = sched_pct
        meas["cpu_server_pct"] = max(ticks_pct, sched_pct)
    meas["cpu_other_pct"] = round(max(0.0, meas["cpu_busy_pct"] - meas["cpu_server_pct"]
                                      - meas["cpu_wrk_pct"]), 1)
    rec = {"kind": "wrk", "server": a.server, "test": a.test, "round": a.round,
           "conns": a.conns, "client": a.client, "cmd": " ".join(cmd), "rc": rc,
           "ts": time.strftime("%Y-%m-%dT%H:%M:%S"), "raw": os.path.basename(a.out)}
    rec.update(benchlib.parse_wrk(text))
    hs, neg = parse_handshakes(text)
    if hs:
        rec["handshakes"] = hs
    if neg:
        rec["negotiated"] = neg
    rec.update(meas)
    if rec.get("requests"):
        rec["ctxsw_per_req"] = round(meas["ctxsw_server"] / rec["requests"], 2)
        rec["server_us_per_req"] = round(
            meas["cpu_server_pct"] / 100.0 * meas["wall_s"] / rec["requests"] * 1e6, 1)
        rec["client_us_per_req"] = round(
            meas["cpu_wrk_pct"] / 100.0 * meas["wall_s"] / rec["requests"] * 1e6, 1)
    rec["noisy"] = meas["cpu_other_pct"] > a.noisy_above
    benchlib.append(a.results, rec)
    lat = ""
    if rec.get("p50_ms") is not None:
        lat = f" p50={rec['p50_ms']:.2f}ms p99={rec['p99_ms']:.2f}ms"
    hst = f" handshakes full={hs['full']} resumed={hs['resumed']}" if hs else ""
    print(f"  [{a.server}] {a.test}#{a.round} ({a.client}): rps={rec.get('rps')}{lat} err={rec['errors']}"
          f"{hst} cpu srv={meas['cpu_server_pct']}% client={meas['cpu_wrk_pct']}% "
          f"(ticks {meas.get('cpu_server_ticks_pct')}%) other={meas['cpu_other_pct']}% srv µs/req={rec.get('server_us_per_req')} rc={rc}"
          f"{' NOISY' if rec['noisy'] else ''}", flush=True)


# ------------------------------------------------------------------ stime (fallback client)
def cmd_stime(a):
    cmd = ["openssl", "s_time", "-connect", f"{HOST}:{a.port}", "-www", a.path,
           "-new" if a.mode == "new" else "-reuse", "-time", str(int(a.time))]
    t0 = time.time()
    procs = [subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
             for _ in range(a.procs)]
    outs = []
    for p in procs:
        try:
            o, _ = p.communicate(timeout=a.time + 30)
        except subprocess.TimeoutExpired:
            p.kill()
            o, _ = p.communicate()
        outs.append(o.decode("latin-1"))
    wall = time.time() - t0
    full = resumed = conns = nbytes = 0
    for o in outs:
        # one character per connection: 'r' resumed, '*' (or a version letter) a full handshake
        body = o.split("starting", 1)[1] if a.mode == "reuse" and "starting" in o else o
        marks = "".join(line for line in body.splitlines()
                        if line and re.fullmatch(r"[r*t3]+", line))
        resumed += marks.count("r")
        full += len(marks) - marks.count("r")
        m = re.findall(r"^(\d+) connections in [0-9.]+s; .*bytes read (\d+)$", o, re.M)
        if m:
            conns += int(m[-1][0])
            nbytes += int(m[-1][1])
    if a.mode == "reuse":
        full += a.procs  # the first connection of each process, before the timing starts
    print(f"Running {a.time}s test @ https://{HOST}:{a.port}{a.path}\n  openssl s_time -{a.mode}: "
          f"{a.procs} processes in parallel, one connection each at a time, HTTP/1.0 GET")
    print(f"  {conns} requests in {wall:.2f}s, {nbytes / 1048576:.2f}MB read")
    print(f"Requests/sec: {conns / wall:10.2f}")
    print(f"Transfer/sec: {nbytes / wall / 1048576:9.2f}MB")
    print(f"Handshakes: full {full} resumed {resumed} hello-retry 0; (openssl s_time)")


# ------------------------------------------------------------------ idle
def hold(port, n, path, resp_timeout, window):
    """Open n TLS connections (full handshakes), one request each, keep them open."""
    ctx = client_ctx()
    sel = selectors.DefaultSelector()
    req = request(path)
    socks, state, bufs = [], {}, {}
    errors = {}
    answered = inflight = opened = 0
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

    def handshake(s):
        try:
            s.do_handshake()
        except ssl.SSLWantReadError:
            sel.modify(s, selectors.EVENT_READ)
            return
        except ssl.SSLWantWriteError:
            sel.modify(s, selectors.EVENT_WRITE)
            return
        except (ssl.SSLError, OSError) as e:
            fail(s, f"handshake {type(e).__name__}")
            return
        try:
            s.send(req)  # a few hundred bytes: fits in one record and the socket buffer
        except (ssl.SSLError, OSError) as e:
            fail(s, f"send {type(e).__name__}")
            return
        state[s] = "wait"
        sel.modify(s, selectors.EVENT_READ)

    def readable(s):
        nonlocal inflight, answered
        try:
            while True:
                d = s.recv(65536)
                if not d:
                    fail(s, "closed")
                    return
                bufs[s] += d
                if not s.pending():
                    break
        except (ssl.SSLWantReadError, ssl.SSLWantWriteError):
            pass
        except (ssl.SSLError, OSError) as e:
            fail(s, type(e).__name__)
            return
        if complete(bufs[s]):
            state[s] = "idle"
            answered += 1
            inflight -= 1
            sel.unregister(s)

    while time.time() < deadline and (opened < n or inflight > 0):
        while opened < n and inflight < window:
            raw = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            raw.setblocking(False)
            opened += 1
            inflight += 1
            rc = raw.connect_ex((HOST, port))
            if rc not in (0, errno.EINPROGRESS):
                errors[errno.errorcode.get(rc, str(rc))] = errors.get(errno.errorcode.get(rc, str(rc)), 0) + 1
                inflight -= 1
                raw.close()
                continue
            socks.append(raw)
            state[raw] = "connect"
            sel.register(raw, selectors.EVENT_WRITE)
        for key, _ in sel.select(timeout=0.1):
            s = key.fileobj
            st = state.get(s)
            if st == "connect":
                err = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                if err:
                    fail(s, errno.errorcode.get(err, str(err)))
                    continue
                sel.unregister(s)
                t = ctx.wrap_socket(s, server_hostname=None, do_handshake_on_connect=False)
                socks[socks.index(s)] = t  # wrap_socket detaches the plain socket
                state.pop(s, None)
                state[t] = "handshake"
                bufs[t] = b""
                sel.register(t, selectors.EVENT_WRITE)
                handshake(t)
            elif st == "handshake":
                handshake(s)
            elif st == "wait":
                readable(s)
    pending = sum(1 for s in socks if state.get(s) in ("connect", "handshake", "wait"))
    if pending:
        errors[f"no answer in {resp_timeout:g}s"] = pending
    if opened < n:
        errors[f"not opened in {resp_timeout:g}s"] = n - opened
    sel.close()
    return socks, state, answered, errors, round(time.time() - t0, 2)


def still_open(socks, state):
    """Held connections the server has not closed (nothing to read, or no EOF/close_notify)."""
    alive = gone = 0
    for s in socks:
        if state.get(s) != "idle":
            continue
        try:
            s.setblocking(False)
            d = s.recv(1)
            if d:
                alive += 1  # unexpected data, but the connection is open
            else:
                gone += 1
        except (ssl.SSLWantReadError, ssl.SSLWantWriteError, BlockingIOError):
            alive += 1
        except (ssl.SSLError, OSError):
            gone += 1
    return alive, gone


def status(port, kind, timeout=5.0):
    """Apache/rhttpd /server-status?auto or nginx stub_status, as a dict (or {"error": ...})."""
    path = "/server-status?auto" if kind == "apache" else "/nginx_status"
    try:
        ms, st, body, _ = fetch(port, path, timeout, close=True)
    except (OSError, ssl.SSLError) as e:
        return {"error": f"{type(e).__name__}: {e}"}
    if st != "200":
        return {"error": f"HTTP {st}"}
    text = body.decode("latin-1")
    out = {"ms": round(ms, 2)}
    if kind == "apache":
        for line in text.splitlines():
            k, sep, v = line.partition(":")
            if sep and k in ("BusyWorkers", "IdleWorkers", "ConnsTotal", "ConnsAsyncWriting",
                             "ConnsAsyncKeepAlive", "ConnsAsyncClosing", "Processes"):
                try:
                    out[k] = int(v.strip())
                except ValueError:
                    pass
    else:
        m = re.search(r"Active connections:\s*(\d+)", text)
        if m:
            out["Active"] = int(m.group(1))
        m = re.search(r"Reading:\s*(\d+)\s+Writing:\s*(\d+)\s+Waiting:\s*(\d+)", text)
        if m:
            out.update(Reading=int(m.group(1)), Writing=int(m.group(2)), Waiting=int(m.group(3)))
    return out


def pct(v, p):
    v = sorted(v)
    return v[min(len(v) - 1, int(round(p / 100.0 * (len(v) - 1))))] if v else None


def probes(port, path, n, timeout):
    """Fresh clients one after another: new connection, full handshake, GET, whole answer."""
    lat, fails = [], {}
    done = 0
    for _ in range(n):
        done += 1
        try:
            ms, st, body, _ = fetch(port, path, timeout)
            if st == "200":
                lat.append(ms)
            else:
                fails["status " + st] = fails.get("status " + st, 0) + 1
        except (OSError, ssl.SSLError) as e:
            k = "timeout" if isinstance(e, socket.timeout) else type(e).__name__
            fails[k] = fails.get(k, 0) + 1
            if not lat and done >= 3:
                break
        time.sleep(0.02)
    return {"n": done, "ok": len(lat), "p50_ms": pct(lat, 50), "p99_ms": pct(lat, 99),
            "max_ms": max(lat) if lat else None, "fail": fails}


def cmd_idle(a):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    n = a.n
    base = benchlib.tree_stats(a.tree)
    st0 = status(a.port, a.status) if a.status != "none" else {}
    socks, state, answered, errors, secs = hold(a.port, n, a.path, a.resp_timeout, a.window)
    time.sleep(a.settle)
    held = benchlib.tree_stats(a.tree)
    sts = []
    if a.status != "none":
        for i in range(3):
            sts.append(status(a.port, a.status))
            time.sleep(0.3)
    pr = probes(a.port, a.path, a.probes, a.probe_timeout)
    rec = {"kind": "tls_idle", "server": a.server, "test": f"tls_idle_{n}", "n": n, "base": base,
           "held": held, "answered": answered, "open_s": secs, "errors": errors,
           "status_before": st0, "status": sts, "probe": pr, "probe_client": "python ssl (OpenSSL), full handshake",
           "ts": time.strftime("%Y-%m-%dT%H:%M:%S")}
    if a.wrk_dur and a.wrk_dur != "0":
        rc, text, meas = benchlib.run_wrk(
            ["wrk", "-t2", "-c50", "-d" + a.wrk_dur, "--latency", f"https://{HOST}:{a.port}{a.path}"],
            a.tree, a.wrk_out, 40)
        w = benchlib.parse_wrk(text)
        w.update(meas)
        w["rc"] = rc
        rec["wrk"] = w
    rec["still_open"], rec["closed_by_server"] = still_open(socks, state)
    for s in socks:
        try:
            s.close()
        except OSError:
            pass
    benchlib.append(a.results, rec)
    w = rec.get("wrk", {})
    busy = [s.get("BusyWorkers", s.get("Writing")) for s in sts]
    stx = ""
    if sts:
        k = "BusyWorkers" if a.status == "apache" else "Writing"
        extra = (f" ConnsAsyncKeepAlive={[s.get('ConnsAsyncKeepAlive') for s in sts]}" if a.status == "apache"
                 else f" Waiting={[s.get('Waiting') for s in sts]}")
        stx = f" | status {k}={busy}{extra}{' ' + sts[0]['error'] if 'error' in sts[0] else ''}"
    print(f"  [{a.server}] tls idle {n}: answered={answered} in {secs}s still_open={rec['still_open']} "
          f"errors={errors} PSS {base['pss_kb'] / 1024:.1f} -> {held['pss_kb'] / 1024:.1f}MiB "
          f"({(held['pss_kb'] - base['pss_kb']) / max(1, n):.2f} KiB/conn) procs={held['procs']} "
          f"threads={held['threads']}{stx} | fresh clients ok={pr['ok']}/{pr['n']} "
          f"p50={pr['p50_ms'] and round(pr['p50_ms'], 2)} p99={pr['p99_ms'] and round(pr['p99_ms'], 2)} "
          f"fail={pr['fail']} | wrk c50 rps={w.get('rps')} p99={w.get('p99_ms')} err={w.get('errors')}",
          flush=True)


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="sub", required=True)
    p = sub.add_parser("check")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--path", default="/index.html")
    p = sub.add_parser("run")
    p.add_argument("--server", required=True)
    p.add_argument("--test", required=True)
    p.add_argument("--client", required=True)
    p.add_argument("--round", type=int, default=1)
    p.add_argument("--conns", type=int)
    p.add_argument("--tree", type=int, default=0)
    p.add_argument("--out", required=True)
    p.add_argument("--results", required=True)
    p.add_argument("--timeout", type=float, default=60.0)
    p.add_argument("--noisy-above", type=float, default=30.0)
    p.add_argument("cmd", nargs=argparse.REMAINDER)
    p = sub.add_parser("stime")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--mode", choices=["new", "reuse"], required=True)
    p.add_argument("--procs", type=int, default=4)
    p.add_argument("--time", type=float, default=10)
    p.add_argument("--path", default="/index.html")
    p = sub.add_parser("idle")
    p.add_argument("--server", required=True)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--tree", type=int, required=True)
    p.add_argument("--n", type=int, default=1000)
    p.add_argument("--path", default="/index.html")
    p.add_argument("--results", required=True)
    p.add_argument("--status", choices=["apache", "nginx", "none"], default="none")
    p.add_argument("--resp-timeout", type=float, default=30.0)
    p.add_argument("--window", type=int, default=200)
    p.add_argument("--settle", type=float, default=2.0)
    p.add_argument("--probes", type=int, default=20)
    p.add_argument("--probe-timeout", type=float, default=3.0)
    p.add_argument("--wrk-dur", default="0")
    p.add_argument("--wrk-out", default="/dev/null")
    a = ap.parse_args()
    {"check": cmd_check, "run": cmd_run, "stime": cmd_stime, "idle": cmd_idle}[a.sub](a)


if __name__ == "__main__":
    main()
