#!/usr/bin/env python3
"""rhttpd reliability suite (issue #16, point 6), run on demand: bash bench/reliability.sh (or this file directly).

Under wrk load, on each MPM (prefork, worker, event), each scenario with a freshly started
rhttpd (bench/configs/reliability.conf, own run directory and port, 127.0.0.1 only):

  kill9     `kill -9` of a busy child every KILL_EVERY s for DUR (MaxKeepAliveRequests 0, so
            wrk's connections stay put between kills): only the connections that
            child held may fail. Before every kill the child's established connections are
            counted (socket inodes in /proc/PID/fd against `ss`); their sum is the bound (wrk's -c
            per kill would be the loose one). Afterwards fresh requests must succeed.
  graceful  `rhttpd -k graceful` every GRACEFUL_EVERY s for DUR: zero failed requests.
  maxconn   MaxConnectionsPerChild 100: a wrk run with `Connection: close` and a keep-alive
            run (MaxKeepAliveRequests 100, so connections and children turn over), each DUR:
            zero failed requests.
  fdlimit   RLIMIT_NOFILE FD_LIMIT (256) for the server, one child able to take more
            connections than that (prefork: one connection per child, the limit cannot be
            reached by connections), wrk -c FD_CONNS (400) for DUR; then FD_CONNS idle
            connections held open. Failures are reported; the server must stay up, answer
            fresh requests afterwards and not spin: the tree's CPU (utime+stime of every
            process, /proc/PID/stat) is sampled over CPU_WIN s while wrk runs, while the idle
            connections are held (must be < 10 %) and after everything closed (< 5 %).
  soak      SOAK_DUR s of mixed traffic from parallel wrk processes, each with few
            connections and a per-request delay (wrk's Lua delay()): static 1 KiB
            keep-alive, static 100 KiB, CGI (ScriptAlias), reverse proxy (ProxyPass to a second
            rhttpd on another port) and `Connection: close`. The tree's RSS and PSS
            (smaps_rollup) and open descriptors (/proc/PID/fd) are sampled after a warm-up,
            every SAMPLE_EVERY s and at the end: start/end/max are reported; zero failures.

Failures are counted from wrk's own report (Socket errors: connect/read/write/timeout,
Non-2xx or 3xx responses, i.e. status >= 400) and, through a Lua script written into the run
directory, per status code. Raw wrk outputs, error logs and results.jsonl stay in the run
directory; the markdown report goes to $OUT/reliability.md and, with WRITE_MD=1, to
bench/results/reliability.md.

Every process started here (servers, backends, wrk) is tracked by PID (and start time, so a
reused PID is never hit) and stopped at the end, also on Ctrl-C, SIGTERM or an exception:
TERM to the server's parent, KILL after STOP_WAIT s, then KILL of every tracked process of its
tree still alive and of its process group (each server runs in its own).

Environment (defaults; QUICK=1 in brackets):
  RHTTPD [target/release/rhttpd]  MPMS ["prefork worker event"]
  SCENARIOS ["kill9 graceful maxconn fdlimit soak"]
  DUR [60 / 10] s per non-soak run   SOAK_DUR [600 / 60] s   SOAK_DUR_<MPM> overrides per MPM
  WRK_C [50] WRK_T [2] WRK_TIMEOUT [10s]   KILL_EVERY [3]   GRACEFUL_EVERY [2]
  FD_LIMIT [256] FD_CONNS [400]   CPU_WIN [2]   WARMUP [20 / 5]   SAMPLE_EVERY [30 / 10]
  PORT_BASE [28380]   WORK [/tmp/rhttpd-reliability]   OUT [$WORK/run-<timestamp>]
  WRITE_MD [1]
"""
import atexit
import http.client
import json
import os
import random
import resource
import shutil
import signal
import socket
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import benchlib  # noqa: E402

CLK_TCK = os.sysconf("SC_CLK_TCK")


def env(name, default):
    v = os.environ.get(name)
    return v if v not in (None, "") else default


QUICK = env("QUICK", "0") == "1"
RHTTPD = os.path.abspath(env("RHTTPD", os.path.join(REPO, "target/release/rhttpd")))
MPMS = env("MPMS", "prefork worker event").split()
SCENARIOS = env("SCENARIOS", "kill9 graceful maxconn fdlimit soak").split()
DUR = int(env("DUR", "10" if QUICK else "60"))
SOAK_DUR = int(env("SOAK_DUR", "60" if QUICK else "600"))
WRK_C = int(env("WRK_C", "50"))
WRK_T = int(env("WRK_T", "2"))
WRK_TIMEOUT = env("WRK_TIMEOUT", "10s")
KILL_EVERY = float(env("KILL_EVERY", "3"))
GRACEFUL_EVERY = float(env("GRACEFUL_EVERY", "2"))
FD_LIMIT = int(env("FD_LIMIT", "256"))
FD_CONNS = int(env("FD_CONNS", "400"))
CPU_WIN = float(env("CPU_WIN", "2"))
WARMUP = float(env("WARMUP", "5" if QUICK else "20"))
SAMPLE_EVERY = float(env("SAMPLE_EVERY", "10" if QUICK else "30"))
PORT_BASE = int(env("PORT_BASE", "28380"))
WORK = env("WORK", "/tmp/rhttpd-reliability")
OUT = env("OUT", os.path.join(WORK, "run-" + time.strftime("%Y%m%d-%H%M%S")))
WRITE_MD = env("WRITE_MD", "1") == "1"
STOP_WAIT = 20.0
CONF = os.path.join(HERE, "configs", "reliability.conf")
CGI_DIR = os.path.join(HERE, "cgi")
DOCROOT = os.path.join(WORK, "docroot")
HOST = "127.0.0.1"
ERR_KINDS = ("connect", "read", "write", "timeout", "non2xx")

# Per MPM sizing for the ordinary scenarios (wrk -c 50 must fit without queueing).
SIZING = {
    "prefork": {"REL_SERVERS": 64, "REL_WORKERS": 128, "REL_SPARE": 10},
    "worker": {"REL_SERVERS": 4, "REL_THREADS": 25, "REL_WORKERS": 100, "REL_SPARE": 25},
    "event": {"REL_SERVERS": 4, "REL_THREADS": 25, "REL_WORKERS": 100, "REL_SPARE": 25},
}
# fdlimit: one child that would take more than FD_LIMIT connections if it could.
FD_SIZING = {
    "prefork": {"REL_SERVERS": FD_CONNS + 20, "REL_WORKERS": FD_CONNS + 40, "REL_SPARE": 10},
    "worker": {"REL_SERVERS": 1, "REL_THREADS": FD_CONNS + 100, "REL_WORKERS": FD_CONNS + 100,
               "REL_SPARE": 25},
    "event": {"REL_SERVERS": 1, "REL_THREADS": 64, "REL_WORKERS": 64, "REL_SPARE": 25},
}

LUA = r"""-- written by bench/reliability.py: counts responses per status code; optional
-- per-request delay (REL_DELAY_MS) for the soak's modest rates.
local threads = {}
local delay_ms = tonumber(os.getenv("REL_DELAY_MS") or "0") or 0
function setup(thread) table.insert(threads, thread) end
function init(args) statuses = {} end
function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end
if delay_ms > 0 then
  function delay() return delay_ms end
end
function done(summary, latency, requests)
  local agg = {}
  for _, t in ipairs(threads) do
    local s = t:get("statuses")
    if s then for k, v in pairs(s) do agg[k] = (agg[k] or 0) + v end end
  end
  local parts = {}
  for k, v in pairs(agg) do table.insert(parts, string.format("%d=%d", k, v)) end
  table.sort(parts)
  io.write("REL_STATUS " .. table.concat(parts, " ") .. "\n")
  local e = summary.errors
  io.write(string.format("REL_SUMMARY requests=%d connect=%d read=%d write=%d status=%d timeout=%d\n",
    summary.requests, e.connect, e.read, e.write, e.status, e.timeout))
end
"""


def log(msg):
    print(time.strftime("%H:%M:%S ") + msg, flush=True)


# ------------------------------------------------------------------ process bookkeeping
def starttime(pid):
    f = benchlib._stat(pid)
    return f[19] if f else None  # field 22


class Tracked:
    """Every process we started or saw in a server tree: pid -> start time."""

    def __init__(self):
        self.procs = {}
        self.popens = []

    def add(self, pid):
        st = starttime(pid)
        if st is not None:
            self.procs[pid] = st

    def alive(self, pid):
        return pid in self.procs and starttime(pid) == self.procs[pid]

    def kill(self, pid, sig=signal.SIGKILL):
        if self.alive(pid):
            try:
                os.kill(pid, sig)
            except OSError:
                pass


TRACK = Tracked()


def children(ppid):
    out = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            f = benchlib._stat(d)
            if f and int(f[1]) == ppid:
                out.append(int(d))
    return out


def tree(root):
    pids = benchlib.descendants(root)
    for p in pids:
        TRACK.add(p)
    return pids


def fd_count(pids):
    n = 0
    for p in pids:
        try:
            n += len(os.listdir(f"/proc/{p}/fd"))
        except OSError:
            pass
    return n


def established_inodes(port):
    """Inodes of ESTABLISHED sockets whose local port is `port` (server side). `ss` asks the
    kernel through sock_diag with the filter applied there (milliseconds); /proc/net/tcp is the
    fallback (slow with many TIME_WAIT entries: the answer may be stale)."""
    out = set()
    try:
        r = subprocess.run(["ss", "-Htne", "state", "established", f"( sport = :{port} )"],
                           capture_output=True, text=True, timeout=5)
        if r.returncode == 0:
            for tok in r.stdout.split():
                if tok.startswith("ino:"):
                    out.add(tok[4:])
            return out
    except (OSError, subprocess.SubprocessError):
        pass
    for path in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(path) as f:
                next(f)
                for line in f:
                    parts = line.split()
                    if int(parts[1].rsplit(":", 1)[1], 16) == port and parts[3] == "01":
                        out.add(parts[9])
        except OSError:
            pass
    return out


def conns_of(pid, inodes):
    n = 0
    try:
        for fd in os.listdir(f"/proc/{pid}/fd"):
            try:
                link = os.readlink(f"/proc/{pid}/fd/{fd}")
            except OSError:
                continue
            if link.startswith("socket:[") and link[8:-1] in inodes:
                n += 1
    except OSError:
        pass
    return n


def cpu_pct(root, window):
    """CPU of root's tree over `window` s, in % of one core (ticks include cutime/cstime)."""
    t0, _ = benchlib.snapshot(root)
    w0 = time.monotonic()
    time.sleep(window)
    t1, _ = benchlib.snapshot(root)
    return round((t1 - t0) / CLK_TCK / (time.monotonic() - w0) * 100.0, 1)


def port_free(port):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        s.bind((HOST, port))
        return True
    except OSError:
        return False
    finally:
        s.close()


_next_port = [PORT_BASE]


def alloc_port():
    for _ in range(200):
        p = _next_port[0]
        _next_port[0] += 1
        if port_free(p):
            return p
    raise RuntimeError("no free port near PORT_BASE")


def fetch(port, path="/index.html", timeout=5.0):
    t0 = time.monotonic()
    c = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        c.request("GET", path, headers={"Connection": "close"})
        r = c.getresponse()
        body = r.read()
        return r.status, len(body), time.monotonic() - t0
    except (OSError, http.client.HTTPException):
        return None, 0, time.monotonic() - t0
    finally:
        c.close()


def probes(port, n=20, path="/index.html"):
    return sum(1 for _ in range(n) if fetch(port, path)[0] == 200)


# ------------------------------------------------------------------ the server
class Server:
    def __init__(self, name, mpm, run, defines, flags=(), nofile=None):
        self.name, self.mpm, self.run = name, mpm, run
        self.port = alloc_port()
        self.nofile = nofile
        os.makedirs(run, exist_ok=True)
        try:
            shutil.chown(run, "www-data", "www-data")
        except (LookupError, OSError):
            pass
        os.chmod(run, 0o755)
        d = {"REL_MPM": mpm, "REL_PORT": self.port, "REL_RUN": run, "REL_DOCROOT": DOCROOT,
             "REL_CGI": CGI_DIR}
        d.update(defines)
        self.args = ["-f", CONF]
        for k, v in d.items():
            self.args += ["-C", f"Define {k} {v}"]
        for fl in flags:
            self.args += ["-D", fl]
        self.proc = None
        self.pid = None

    @property
    def error_log(self):
        return os.path.join(self.run, "error.log")

    def start(self):
        with open(os.path.join(self.run, "cmd.txt"), "w") as f:
            f.write(" ".join([RHTTPD] + [repr(a) if " " in a else a for a in self.args]) + "\n")
            if self.nofile:
                f.write(f"# RLIMIT_NOFILE {self.nofile}:{self.nofile}\n")
        t = subprocess.run([RHTTPD] + self.args + ["-t"], capture_output=True, text=True,
                           timeout=30)
        if t.returncode != 0:
            raise RuntimeError(f"{self.name}: config test failed: {t.stderr.strip()[:300]}")
        nofile = self.nofile

        def pre():
            os.setpgrp()  # own process group; same session
            if nofile:
                resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile))
        out = open(os.path.join(self.run, "server.log"), "ab")
        self.proc = subprocess.Popen([RHTTPD] + self.args + ["-D", "FOREGROUND"], stdout=out,
                                     stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                     preexec_fn=pre, cwd=self.run)
        out.close()
        self.pid = self.proc.pid
        TRACK.add(self.pid)
        SERVERS.append(self)
        deadline = time.monotonic() + 30
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name}: exited at start (rc {self.proc.returncode}); "
                                   f"see {self.run}/server.log and error.log")
            if fetch(self.port, timeout=2)[0] == 200:
                break
            if time.monotonic() > deadline:
                raise RuntimeError(f"{self.name}: not ready after 30 s")
            time.sleep(0.1)
        # pre-started pools: wait until the process count is stable
        n0, stable = -1, 0
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            n = len(tree(self.pid))
            stable = stable + 1 if n == n0 else 0
            if stable >= 3:
                break
            n0 = n
            time.sleep(0.25)
        log(f"  {self.name}: pid {self.pid}, port {self.port}, {len(tree(self.pid))} processes")

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def graceful(self):
        r = subprocess.run([RHTTPD] + self.args + ["-k", "graceful"], capture_output=True,
                           text=True, timeout=15)
        return r.returncode == 0

    def stop(self):
        if self.proc is None:
            return
        members = tree(self.pid) if self.alive() else []
        if self.alive():
            try:
                os.kill(self.pid, signal.SIGTERM)
            except OSError:
                pass
            try:
                self.proc.wait(STOP_WAIT)
            except subprocess.TimeoutExpired:
                log(f"  {self.name}: no exit {STOP_WAIT:.0f} s after SIGTERM: SIGKILL")
                self.proc.kill()
                self.proc.wait()
        # leftovers of the tree (tracked PID + start time) and of its process group
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline and any(TRACK.alive(p) for p in members):
            time.sleep(0.1)
        left = [p for p in members if TRACK.alive(p)]
        for p in left:
            TRACK.kill(p)
        grp = [int(d) for d in os.listdir("/proc") if d.isdigit() and _pgrp(d) == self.pid]
        if grp:
            try:
                os.killpg(self.pid, signal.SIGKILL)
            except OSError:
                pass
        if left or grp:
            log(f"  {self.name}: killed leftovers {sorted(set(left) | set(grp))}")
        self.proc = None
        if self in SERVERS:
            SERVERS.remove(self)


def _pgrp(pid):
    f = benchlib._stat(pid)
    return int(f[2]) if f else None


SERVERS = []


# ------------------------------------------------------------------ wrk
class Wrk:
    def __init__(self, run, label, port, path, conns, threads, dur, headers=(), delay_ms=0):
        self.label = label
        self.out_path = os.path.join(run, f"wrk-{label}.txt")
        self.lua = os.path.join(run, "count.lua")
        if not os.path.exists(self.lua):
            with open(self.lua, "w") as f:
                f.write(LUA)
        self.cmd = ["wrk", "-c", str(conns), "-t", str(min(threads, conns)), "-d", f"{dur}s",
                    "--timeout", WRK_TIMEOUT, "-s", self.lua]
        for h in headers:
            self.cmd += ["-H", h]
        self.cmd.append(f"http://{HOST}:{port}{path}")
        self.deadline = time.monotonic() + dur + 20
        e = dict(os.environ, REL_DELAY_MS=str(delay_ms))
        self.fh = open(self.out_path, "w")
        self.fh.write("# " + " ".join(self.cmd) + f"   (REL_DELAY_MS={delay_ms})\n")
        self.fh.flush()
        self.p = subprocess.Popen(self.cmd, stdout=self.fh, stderr=subprocess.STDOUT, env=e,
                                  stdin=subprocess.DEVNULL)
        TRACK.add(self.p.pid)
        TRACK.popens.append(self.p)
        self.result = None

    def running(self):
        return self.p.poll() is None

    def wait(self):
        try:
            self.p.wait(max(0.1, self.deadline - time.monotonic()))
            rc = self.p.returncode
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()
            rc = "killed (hard timeout)"
        self.fh.close()
        TRACK.popens.remove(self.p)
        with open(self.out_path) as f:
            text = f.read()
        self.result = parse(text, rc)
        return self.result


def parse(text, rc):
    w = benchlib.parse_wrk(text)
    r = {"rc": rc, "requests": w["requests"] or 0, "rps": w["rps"]}
    r.update(w["err_detail"])
    r["non2xx"] = w["non2xx"]
    r["statuses"] = {}
    for line in text.splitlines():
        if line.startswith("REL_STATUS"):
            for kv in line.split()[1:]:
                k, _, v = kv.partition("=")
                r["statuses"][k] = int(v)
    r["failed"] = sum(r[k] for k in ERR_KINDS)
    if rc != 0 or w["requests"] is None:
        r["failed_run"] = True
    return r


def add(a, b):
    out = dict(a)
    for k in ("requests",) + ERR_KINDS + ("failed",):
        out[k] = a.get(k, 0) + b.get(k, 0)
    st = dict(a.get("statuses", {}))
    for k, v in b.get("statuses", {}).items():
        st[k] = st.get(k, 0) + v
    out["statuses"] = st
    out["failed_run"] = a.get("failed_run", False) or b.get("failed_run", False)
    return out


def errlog_count(server, *needles):
    try:
        with open(server.error_log, errors="replace") as f:
            return sum(1 for line in f if any(n in line for n in needles))
    except OSError:
        return 0


def errlog_lines(server, needles, limit=3):
    out = []
    try:
        with open(server.error_log, errors="replace") as f:
            for line in f:
                if any(n in line for n in needles):
                    out.append(line.strip())
                    if len(out) >= limit:
                        break
    except OSError:
        pass
    return out


def errlog_levels(server):
    """Counts of [module:level] tags at error or worse."""
    counts = {}
    try:
        with open(server.error_log, errors="replace") as f:
            for line in f:
                for lvl in (":error]", ":crit]", ":alert]", ":emerg]"):
                    if lvl in line:
                        counts[lvl[1:-1]] = counts.get(lvl[1:-1], 0) + 1
    except OSError:
        pass
    return counts


# ------------------------------------------------------------------ scenarios
RESULTS = []


def record(rec):
    RESULTS.append(rec)
    with open(os.path.join(OUT, "results.jsonl"), "a") as f:
        f.write(json.dumps(rec) + "\n")
    w = rec.get("wrk", {})
    log(f"  => {rec['scenario']}/{rec['mpm']}{'/' + rec['variant'] if rec.get('variant') else ''}: "
        f"{rec['verdict']}  requests={w.get('requests')} failed={w.get('failed')} "
        f"({', '.join(f'{k} {w.get(k, 0)}' for k in ERR_KINDS)})  {rec.get('notes', '')}")


def rundir(scen, mpm):
    d = os.path.join(OUT, f"{scen}-{mpm}")
    os.makedirs(d, exist_ok=True)
    return d


def finish_common(server, rec):
    rec["alive"] = server.alive()
    rec["probes_ok"] = probes(server.port) if rec["alive"] else 0
    rec["errlog_errors"] = errlog_levels(server)


def sc_kill9(mpm):
    run = rundir("kill9", mpm)
    # MaxKeepAliveRequests 0: wrk's connections stay where they are until a kill, so the count
    # of a child's connections just before its kill is exact
    s = Server(f"kill9-{mpm}", mpm, run, dict(SIZING[mpm], REL_KAREQ=0))
    s.start()
    kids0 = len(children(s.pid))
    w = Wrk(run, "load", s.port, "/index.html", WRK_C, WRK_T, DUR)
    kills = []
    t0 = time.monotonic()
    nxt = t0 + min(KILL_EVERY, 1.0)
    while w.running():
        now = time.monotonic()
        if now >= nxt and now - t0 < DUR - 1.0 and s.alive():
            inodes = established_inodes(s.port)
            kids = [(p, conns_of(p, inodes)) for p in children(s.pid)]
            for p, _ in kids:
                TRACK.add(p)
            busy = [k for k in kids if k[1] > 0] or kids
            if busy:
                pid, n = random.choice(busy)
                # re-count right before the kill (connections may have moved)
                n = max(n, conns_of(pid, established_inodes(s.port)))
                TRACK.kill(pid)
                kills.append({"t": round(now - t0, 2), "pid": pid, "conns": n})
            nxt += KILL_EVERY
        time.sleep(0.05)
    res = w.wait()
    # recovery: the parent replaces the killed children
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and len(children(s.pid)) < min(kids0, 4):
        time.sleep(0.2)
    rec = {"scenario": "kill9", "mpm": mpm, "wrk": res, "kills": len(kills),
           "kill_log": kills, "bound_inflight": sum(k["conns"] for k in kills),
           "bound_loose": WRK_C * len(kills), "children_start": kids0,
           "children_end": len(children(s.pid)) if s.alive() else 0,
           "errlog_kill_exits": errlog_count(s, "exit signal Killed")}
    finish_common(s, rec)
    s.stop()
    fails = res["failed"]
    ok = (rec["alive"] and rec["probes_ok"] == 20 and res["non2xx"] == 0 and len(kills) > 0
          and fails <= rec["bound_inflight"] and not res.get("failed_run"))
    rec["expect"] = "failures ≤ connections held by the killed children; no 5xx"
    rec["verdict"] = "PASS" if ok else "FAIL"
    per = fails / len(kills) if kills else 0
    rec["notes"] = (f"{len(kills)} kills every {KILL_EVERY:g} s; bound {rec['bound_inflight']} "
                    f"in-flight connections (loose bound c×kills {rec['bound_loose']}); "
                    f"{per:.1f} failures/kill; children {kids0}→{rec['children_end']}; "
                    f"fresh requests after: {rec['probes_ok']}/20")
    record(rec)


def sc_graceful(mpm):
    run = rundir("graceful", mpm)
    s = Server(f"graceful-{mpm}", mpm, run, SIZING[mpm])
    s.start()
    w = Wrk(run, "load", s.port, "/index.html", WRK_C, WRK_T, DUR)
    done = failed_k = 0
    t0 = time.monotonic()
    nxt = t0 + GRACEFUL_EVERY
    while w.running():
        now = time.monotonic()
        if now >= nxt and now - t0 < DUR - 0.5 and s.alive():
            try:
                ok = s.graceful()
            except subprocess.TimeoutExpired:
                ok = False
            done += ok
            failed_k += not ok
            nxt += GRACEFUL_EVERY
        time.sleep(0.05)
    res = w.wait()
    time.sleep(1)
    nproc = len(tree(s.pid)) if s.alive() else 0
    rec = {"scenario": "graceful", "mpm": mpm, "wrk": res, "gracefuls": done,
           "graceful_cmd_failed": failed_k,
           "errlog_restarts": errlog_count(s, "AH00171", "AH00297", "AH00493"),
           "procs_end": nproc}
    finish_common(s, rec)
    s.stop()
    ok = (res["failed"] == 0 and rec["alive"] and rec["probes_ok"] == 20 and done > 0
          and failed_k == 0 and not res.get("failed_run"))
    rec["expect"] = "0 failed requests"
    rec["verdict"] = "PASS" if ok else "FAIL"
    rec["notes"] = (f"{done} × `-k graceful` every {GRACEFUL_EVERY:g} s ({failed_k} failed), "
                    f"{rec['errlog_restarts']} restarts logged; {nproc} processes after; "
                    f"fresh requests after: {rec['probes_ok']}/20")
    record(rec)


def sc_maxconn(mpm):
    for variant, headers in (("close", ("Connection: close",)), ("keepalive", ())):
        run = rundir(f"maxconn-{variant}", mpm)
        s = Server(f"maxconn-{variant}-{mpm}", mpm, run,
                   dict(SIZING[mpm], REL_MAXCONN=100, REL_KAREQ=100))
        s.start()
        seen = set(children(s.pid))
        w = Wrk(run, "load", s.port, "/index.html", WRK_C, WRK_T, DUR, headers=headers)
        while w.running():
            for p in children(s.pid):
                if p not in seen:
                    seen.add(p)
                    TRACK.add(p)
            time.sleep(0.1)
        res = w.wait()
        rec = {"scenario": "maxconn", "variant": variant, "mpm": mpm, "wrk": res,
               "children_seen": len(seen)}
        finish_common(s, rec)
        s.stop()
        ok = (res["failed"] == 0 and rec["alive"] and rec["probes_ok"] == 20
              and not res.get("failed_run"))
        rec["expect"] = "0 failed requests"
        rec["verdict"] = "PASS" if ok else "FAIL"
        how = ("every request on a new connection" if variant == "close"
               else "keep-alive, MaxKeepAliveRequests 100")
        rec["notes"] = (f"MaxConnectionsPerChild 100, {how}; {len(seen)} distinct children "
                        f"seen (sampled every 0.1 s); fresh requests after: "
                        f"{rec['probes_ok']}/20")
        record(rec)


def hold_idle(port, n, limit_s=10.0):
    """Open up to n connections to port without sending anything; returns the sockets."""
    socks = []
    t0 = time.monotonic()
    for _ in range(n):
        if time.monotonic() - t0 > limit_s:
            break
        s = socket.socket()
        s.settimeout(1.0)
        try:
            s.connect((HOST, port))
            socks.append(s)
        except OSError:
            s.close()
    return socks


def sc_fdlimit(mpm):
    run = rundir("fdlimit", mpm)
    s = Server(f"fdlimit-{mpm}", mpm, run, dict(FD_SIZING[mpm], REL_ASYNC=16), nofile=FD_LIMIT)
    s.start()
    pids = tree(s.pid)
    fds_idle = max(fd_count([p]) for p in pids)
    w = Wrk(run, "load", s.port, "/index.html", FD_CONNS, WRK_T, DUR)
    # mid-run: CPU and the largest per-process descriptor count
    time.sleep(min(DUR / 2.0, max(1.0, DUR - CPU_WIN - 1)))
    pids = tree(s.pid)
    fds_max = max([fd_count([p]) for p in pids] or [0])
    cpu_load = cpu_pct(s.pid, CPU_WIN) if s.alive() else None
    fresh_load = fetch(s.port, timeout=5)
    res = w.wait()
    time.sleep(2)
    cpu_after_wrk = cpu_pct(s.pid, CPU_WIN) if s.alive() else None
    # idle connections beyond the limit: the listener must not spin on EMFILE
    socks = hold_idle(s.port, FD_CONNS)
    time.sleep(1)
    pids = tree(s.pid)
    fds_held = max([fd_count([p]) for p in pids] or [0])
    cpu_held = cpu_pct(s.pid, CPU_WIN) if s.alive() else None
    fresh_held = fetch(s.port, timeout=5)
    for sk in socks:
        sk.close()
    time.sleep(2)
    cpu_idle = cpu_pct(s.pid, CPU_WIN) if s.alive() else None
    rec = {"scenario": "fdlimit", "mpm": mpm, "wrk": res, "fd_limit": FD_LIMIT,
           "conns": FD_CONNS, "fds_per_proc_idle": fds_idle, "fds_per_proc_max_load": fds_max,
           "fds_per_proc_max_held": fds_held, "held": len(socks),
           "cpu_load_pct": cpu_load, "cpu_after_wrk_pct": cpu_after_wrk,
           "cpu_held_pct": cpu_held, "cpu_idle_pct": cpu_idle,
           "fresh_during_load": fresh_load[0], "fresh_during_load_s": round(fresh_load[2], 3),
           "fresh_while_held": fresh_held[0], "fresh_while_held_s": round(fresh_held[2], 3),
           "errlog_emfile": errlog_count(s, "Too many open files", "EMFILE", "os error 24"),
           "errlog_emfile_first": errlog_lines(s, ("Too many open files", "EMFILE",
                                                   "os error 24"), 2)}
    finish_common(s, rec)
    s.stop()
    ok = (rec["alive"] and rec["probes_ok"] == 20 and cpu_idle is not None and cpu_idle < 5
          and cpu_after_wrk < 5 and cpu_held is not None and cpu_held < 10)
    rec["expect"] = "failures reported; stays up, answers afterwards, no spin (CPU idle ~0)"
    rec["verdict"] = "PASS" if ok else "FAIL"
    rec["notes"] = (f"nofile {FD_LIMIT}, wrk -c {FD_CONNS}; max fds in one process "
                    f"{fds_max} (idle {fds_idle}); {rec['errlog_emfile']} EMFILE log lines; "
                    f"server CPU under load {cpu_load} %, after wrk {cpu_after_wrk} %, "
                    f"{len(socks)} idle connections held {cpu_held} % "
                    f"(fresh request then: {fresh_held[0] or 'failed'} in "
                    f"{fresh_held[2]:.2f} s), all closed {cpu_idle} %; "
                    f"fresh requests after: {rec['probes_ok']}/20")
    record(rec)


SOAK_MIX = [
    # label, path, conns, delay ms, headers
    ("static-1k-ka", "/index.html", 8, 2, ()),
    ("static-100k", "/100k.bin", 2, 5, ()),
    ("cgi", "/cgi-bin/hello.cgi", 2, 10, ()),
    ("proxy", "/proxy/index.html", 4, 5, ()),
    ("close", "/index.html", 2, 5, ("Connection: close",)),
]


def mem_sample(s, t0):
    pids = tree(s.pid)
    st = benchlib.tree_stats(s.pid)
    return {"t": round(time.monotonic() - t0, 1), "procs": st["procs"],
            "threads": st["threads"], "rss_kb": st["rss_kb"], "pss_kb": st["pss_kb"],
            "fds": fd_count(pids)}


def sc_soak(mpm):
    dur = int(env(f"SOAK_DUR_{mpm.upper()}", str(SOAK_DUR)))
    run = rundir("soak", mpm)
    be = Server(f"soak-backend-{mpm}", "event", os.path.join(run, "backend"),
                SIZING["event"])
    be.start()
    s = Server(f"soak-{mpm}", mpm, run, dict(SIZING[mpm], REL_BACKEND=be.port),
               flags=("REL_PROXY",))
    s.start()
    for path in ("/cgi-bin/hello.cgi", "/proxy/index.html", "/100k.bin"):
        st = fetch(s.port, path)
        if st[0] != 200:
            raise RuntimeError(f"soak-{mpm}: {path} answers {st[0]}")
    t0 = time.monotonic()
    idle_before = mem_sample(s, t0)
    total = WARMUP + dur
    wrks = [Wrk(run, lbl, s.port, path, c, 1, int(total + 2), headers=h, delay_ms=d)
            for lbl, path, c, d, h in SOAK_MIX]
    samples = []
    time.sleep(WARMUP)
    ts = time.monotonic()
    samples.append(mem_sample(s, t0))
    while time.monotonic() - ts < dur - 0.5 and all(x.running() for x in wrks):
        time.sleep(min(SAMPLE_EVERY, max(0.1, dur - (time.monotonic() - ts))))
        if s.alive():
            samples.append(mem_sample(s, t0))
    res = {w.label: w.wait() for w in wrks}
    time.sleep(5 + 2)  # KeepAliveTimeout 5 s: idle keep-alive connections are closed
    idle_after = mem_sample(s, t0) if s.alive() else None
    with open(os.path.join(run, "samples.json"), "w") as f:
        json.dump({"idle_before": idle_before, "samples": samples, "idle_after": idle_after},
                  f, indent=1)
    tot = {}
    for r in res.values():
        tot = add(tot, r) if tot else dict(r)
    rec = {"scenario": "soak", "mpm": mpm, "dur": dur, "wrk": tot, "per_kind": res,
           "idle_before": idle_before, "idle_after": idle_after, "samples": samples}
    finish_common(s, rec)
    be_alive = be.alive()
    s.stop()
    be.stop()
    a, b = samples[0], samples[-1]
    mx = {k: max(x[k] for x in samples) for k in ("rss_kb", "pss_kb", "fds", "procs")}
    rec["max"] = mx
    flat_fd = b["fds"] <= a["fds"] + max(16, 0.1 * a["fds"])
    flat_mem = b["pss_kb"] <= a["pss_kb"] * 1.2 + 8192
    rec["flat_fds"], rec["flat_mem"] = flat_fd, flat_mem
    ok = (tot["failed"] == 0 and rec["alive"] and rec["probes_ok"] == 20 and be_alive
          and flat_fd and flat_mem and not tot.get("failed_run"))
    rec["expect"] = "0 failed; RSS/PSS and descriptors flat"
    rec["verdict"] = "PASS" if ok else "FAIL"
    kinds = ", ".join(f"{k} {v['requests']}" + (f" ({v['failed']} failed)" if v['failed'] else "")
                      for k, v in res.items())
    rec["notes"] = (f"{dur} s after {WARMUP:g} s warm-up; {kinds}; "
                    f"{len(samples)} samples; fresh requests after: {rec['probes_ok']}/20")
    record(rec)


# ------------------------------------------------------------------ report
def mib(kb):
    return f"{kb / 1024:.1f}"


def report():
    lines = []
    lines.append("## Reliability (bench/reliability.sh)\n")
    rev = subprocess.run(["git", "-C", REPO, "rev-parse", "--short", "HEAD"],
                         capture_output=True, text=True).stdout.strip()
    lines.append(
        f"Generated by `bench/reliability.py` on {time.strftime('%Y-%m-%d %H:%M')} "
        f"(rhttpd at `{rev or '?'}`, binary `{RHTTPD}`; {os.cpu_count()} cores shared with "
        f"other work, 127.0.0.1 only). Each row is a freshly started server "
        f"(`bench/configs/reliability.conf`); load from wrk "
        f"(`-c {WRK_C} -t {WRK_T} --timeout {WRK_TIMEOUT}`, {DUR} s per run unless noted). "
        f"Failures are wrk's socket errors (connect/read/write/timeout) and responses with "
        f"status ≥ 400. Throughput is not the point here (the machine is shared); failure "
        f"counts are.\n")
    lines.append("| Scenario | MPM | Requests | connect | read | write | timeout | ≥ 400 "
                 "| Expected | Result | Notes |")
    lines.append("|---|---|---:|---:|---:|---:|---:|---:|---|---|---|")
    for r in RESULTS:
        if r["scenario"] == "soak":
            continue
        w = r["wrk"]
        name = r["scenario"] + (f" ({r['variant']})" if r.get("variant") else "")
        lines.append(f"| {name} | {r['mpm']} | {w['requests']} | {w['connect']} | {w['read']} "
                     f"| {w['write']} | {w['timeout']} | {w['non2xx']} | {r['expect']} "
                     f"| **{r['verdict']}** | {r['notes']} |")
    soaks = [r for r in RESULTS if r["scenario"] == "soak"]
    if soaks:
        lines.append("")
        lines.append(
            "Soak: parallel wrk processes, one thread each, a per-request delay (wrk Lua "
            "`delay()`) so the rates stay modest: " + "; ".join(
                f"{lbl} `{path}` c{c} {d} ms" for lbl, path, c, d, _ in SOAK_MIX) +
            ". The proxy backend is a second rhttpd (event). Memory and descriptors are sums "
            "over the server's process tree (parent, children, CGI scripts running at that "
            f"instant), sampled after a {WARMUP:g} s warm-up (start), every "
            f"{SAMPLE_EVERY:g} s and at the end under load; idle = before the load and "
            "KeepAliveTimeout + 2 s after it.\n")
        lines.append("| MPM | Duration | Requests | Failed | RSS MiB start / end / max "
                     "| PSS MiB start / end / max | fds start / end / max | fds idle before / "
                     "after | Processes start / end | Result | Notes |")
        lines.append("|---|---:|---:|---:|---|---|---|---|---|---|---|")
        for r in soaks:
            a, b, mx = r["samples"][0], r["samples"][-1], r["max"]
            ib, ia = r["idle_before"], r["idle_after"] or {}
            w = r["wrk"]
            fk = ", ".join(f"{k} {w[k]}" for k in ERR_KINDS if w[k])
            lines.append(
                f"| {r['mpm']} | {r['dur']} s | {w['requests']} | {w['failed']}"
                f"{' (' + fk + ')' if fk else ''} "
                f"| {mib(a['rss_kb'])} / {mib(b['rss_kb'])} / {mib(mx['rss_kb'])} "
                f"| {mib(a['pss_kb'])} / {mib(b['pss_kb'])} / {mib(mx['pss_kb'])} "
                f"| {a['fds']} / {b['fds']} / {mx['fds']} | {ib['fds']} / {ia.get('fds', '–')} "
                f"| {a['procs']} / {b['procs']} | **{r['verdict']}** | {r['notes']} |")
    lines.append("")
    lines.append(f"Raw wrk outputs, error logs, samples: `{OUT}/` (one directory per "
                 f"scenario and MPM).\n")
    text = "\n".join(lines)
    with open(os.path.join(OUT, "reliability.md"), "w") as f:
        f.write(text)
    if WRITE_MD:
        with open(os.path.join(HERE, "results", "reliability.md"), "w") as f:
            f.write(text)
    print("\n" + text)


# ------------------------------------------------------------------ main
def cleanup():
    for p in list(TRACK.popens):
        try:
            p.kill()
            p.wait(5)
        except (OSError, subprocess.TimeoutExpired):
            pass
    TRACK.popens.clear()
    for s in list(SERVERS):
        try:
            s.stop()
        except Exception as e:  # keep stopping the others
            log(f"  stop {s.name}: {e}")
    # anything we ever saw in a server tree and still alive (same start time)
    for p in list(TRACK.procs):
        if TRACK.alive(p) and p != os.getpid():
            TRACK.kill(p)


def on_signal(signum, _frame):
    raise KeyboardInterrupt(f"signal {signum}")


SCEN_FN = {"kill9": sc_kill9, "graceful": sc_graceful, "maxconn": sc_maxconn,
           "fdlimit": sc_fdlimit, "soak": sc_soak}


def main():
    for sc in SCENARIOS:
        if sc not in SCEN_FN:
            sys.exit(f"unknown scenario {sc} (known: {' '.join(SCEN_FN)})")
    if not os.access(RHTTPD, os.X_OK):
        sys.exit(f"no rhttpd binary at {RHTTPD} (cargo build --release, or RHTTPD=...)")
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed (bench/reliability.sh installs it)")
    os.makedirs(OUT, exist_ok=True)
    benchlib.cmd_docroot(type("A", (), {"dir": DOCROOT}))
    os.chmod(WORK, 0o755)
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGHUP, on_signal)
    atexit.register(cleanup)
    log(f"reliability: MPMS={' '.join(MPMS)} SCENARIOS={' '.join(SCENARIOS)} DUR={DUR} "
        f"SOAK_DUR={SOAK_DUR} wrk -c{WRK_C} -t{WRK_T}; out {OUT}")
    try:
        for sc in SCENARIOS:
            for mpm in MPMS:
                log(f"{sc} / {mpm}")
                try:
                    SCEN_FN[sc](mpm)
                except (RuntimeError, OSError, subprocess.SubprocessError) as e:
                    log(f"  ERROR {sc}/{mpm}: {e}")
                    record({"scenario": sc, "mpm": mpm, "wrk": {k: 0 for k in
                            ("requests", "failed") + ERR_KINDS}, "expect": "–",
                            "verdict": "ERROR", "notes": str(e).replace("|", "/"),
                            "samples": [{"rss_kb": 0, "pss_kb": 0, "fds": 0, "procs": 0}],
                            "max": {"rss_kb": 0, "pss_kb": 0, "fds": 0, "procs": 0},
                            "idle_before": {"fds": 0}, "idle_after": None, "dur": 0})
                finally:
                    cleanup()
    except KeyboardInterrupt as e:
        log(f"interrupted ({e}); stopping everything")
        cleanup()
        if RESULTS:
            report()
        sys.exit(130)
    report()
    bad = [r for r in RESULTS if r["verdict"] != "PASS"]
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
