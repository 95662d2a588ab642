#!/usr/bin/env bash
# HTTPS benchmark: rhttpd (prefork / worker / event MPM) with TLS (mod_ssl directives, rustls),
# Apache httpd with mod_ssl (same three MPMs), nginx and h2o, all on 127.0.0.1, every server with
# the same ECDSA P-256 certificate and key (made at run time) and the same document root.
#
#   bash bench/tls.sh                    # full mode (~12 min once the builds are done)
#   QUICK=1 bash bench/tls.sh            # quick mode (~2 min): a smoke test, not a measurement
#   SERVERS="rhttpd-event apache-event nginx" QUICK=1 bash bench/tls.sh
#
# Tests (every selected server up at once, each on its own port; every test in interleaved
# rounds, the order rotated per round, as bench/run.sh does):
#   https_ka_c50       wrk -t2 -c50 keep-alive GET /index.html (1 KiB): TLS record cost
#   https_new_full     new connection per request, full handshakes: bench/tlsload (rustls
#                      client, CONNS_NEW threads, no session offered); connections/s
#   https_new_resumed  the same with session resumption (each thread offers the session /
#                      TLS 1.3 ticket its server gave it); connections/s
#   tls_idle_1000      (IDLE_SERVERS, one at a time, the others idle) IDLE_N idle TLS keep-alive
#                      connections (full handshake, one GET, then idle): PSS growth per
#                      connection, BusyWorkers from /server-status?auto (nginx: stub_status)
#                      while they are held, fresh clients' latency, a short wrk -c50 run
# The tlsload output says how many handshakes were full and how many resumed (recorded).
# wrk and h2load are not used for the new-connection tests: both resume TLS sessions on
# reconnect (checked against nginx's $ssl_session_reused), and OpenSSL 3.0 clients spend
# ~1 ms of CPU per full handshake (openssl s_time), more than the servers do.
#
# Environment knobs [full / quick defaults]:
#   SERVERS      [all eight]  rhttpd-prefork rhttpd-worker rhttpd-event apache-prefork
#                             apache-worker apache-event nginx h2o
#   MAIN_DUR     [10s / 2s]   duration of each https_ka_c50 run;   ROUNDS  [3 / 1] its rounds
#   DUR          [10s / 2s]   duration of each new-connection run; ROUNDS2 [2 / 1] their rounds
#   CONNS_NEW    [50]         concurrent clients (tlsload threads) in the new-connection tests
#   TLS_CLIENT   [tlsload]    or s_time: STIME_PROCS [4] `openssl s_time` processes in parallel
#                             instead (used automatically if tlsload does not build)
#   IDLE_SERVERS ["rhttpd-event apache-event nginx"]   servers of the idle test ("" skips it)
#   IDLE_N [1000]  IDLE_PROBES [50 / 10]  IDLE_WRK_DUR [5s / 1s]  IDLE_SETTLE [3 / 0.5]
#   KA_TIMEOUT   [300]        KeepAliveTimeout (s) throughout (one start: the idle test needs
#                             connections that outlive it; it does not change the other tests)
#   PORT_BASE    [28280]      server i (in the list above) listens on PORT_BASE+i
#   NOISY_ABOVE  [30]         flag runs where other processes used > this % CPU (of 200 %)
#   BUILD [1] INSTALL [1]     0 skips the cargo builds / the apt-get step
#   CARGO_LOCK   []           if set: run cargo under `flock -o $CARGO_LOCK` (shared machines)
#   RHTTPD [target/release/rhttpd] RHTTPD_REV [git HEAD]   another rhttpd binary and its label
#   WORK [/tmp/rhttpd-bench-tls]  OUT [$WORK/results-<timestamp>]
#
# Everything talks to 127.0.0.1 only; every load run is bounded by its duration and a hard
# timeout; the servers are started by this script, each with its own run directory, pid file and
# port, and only those processes (tracked by PID) are stopped.
set -u -o pipefail
export PYTHONDONTWRITEBYTECODE=1   # no bench/__pycache__ from importing benchlib

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
PY=${PYTHON:-python3}
QUICK=${QUICK:-0}
ALL_SERVERS="rhttpd-prefork rhttpd-worker rhttpd-event apache-prefork apache-worker apache-event nginx h2o"
SERVERS=${SERVERS:-$ALL_SERVERS}
if [[ $QUICK == 1 ]]; then
  MAIN_DUR=${MAIN_DUR:-2s}; DUR=${DUR:-2s}; ROUNDS=${ROUNDS:-1}; ROUNDS2=${ROUNDS2:-1}
  IDLE_PROBES=${IDLE_PROBES:-10}; IDLE_WRK_DUR=${IDLE_WRK_DUR:-1s}; IDLE_SETTLE=${IDLE_SETTLE:-0.5}
else
  MAIN_DUR=${MAIN_DUR:-10s}; DUR=${DUR:-10s}; ROUNDS=${ROUNDS:-3}; ROUNDS2=${ROUNDS2:-2}
  IDLE_PROBES=${IDLE_PROBES:-50}; IDLE_WRK_DUR=${IDLE_WRK_DUR:-5s}; IDLE_SETTLE=${IDLE_SETTLE:-3}
fi
CONNS_NEW=${CONNS_NEW:-50}
TLS_CLIENT=${TLS_CLIENT:-tlsload}
STIME_PROCS=${STIME_PROCS:-4}
IDLE_SERVERS=${IDLE_SERVERS-"rhttpd-event apache-event nginx"}
IDLE_N=${IDLE_N:-1000}
KA_TIMEOUT=${KA_TIMEOUT:-300}
PORT_BASE=${PORT_BASE:-28280}
NOISY_ABOVE=${NOISY_ABOVE:-30}
BUILD=${BUILD:-1}
INSTALL=${INSTALL:-1}
CARGO_LOCK=${CARGO_LOCK:-}
WORK=${WORK:-/tmp/rhttpd-bench-tls}
STAMP=$(date +%Y%m%d-%H%M%S)
OUT=${OUT:-$WORK/results-$STAMP}
RESULTS=$OUT/results.jsonl
DOCROOT=$WORK/docroot
TLSDIR=$WORK/tls
RHTTPD=${RHTTPD:-$REPO/target/release/rhttpd}
TLSLOAD_TARGET=$REPO/target/tlsload
TLSLOAD=$TLSLOAD_TARGET/release/tlsload
APACHE_MODS=/usr/lib/apache2/modules
T_START=$(date +%s)

mkdir -p "$OUT/raw" "$OUT/conf" "$WORK/run"
chmod 755 "$WORK" "$WORK/run"
log() { printf '%s %s\n' "$(date +%H:%M:%S)" "$*" | tee -a "$OUT/run.log" >&2; }

# ------------------------------------------------------------------------------ prerequisites
need_pkgs=()
for pair in apache2:apache2 nginx:nginx h2o:h2o wrk:wrk curl:curl openssl:openssl; do
  command -v "${pair%%:*}" >/dev/null 2>&1 || [[ -x /usr/sbin/${pair%%:*} ]] || need_pkgs+=("${pair#*:}")
done
if [[ ${#need_pkgs[@]} -gt 0 ]]; then
  if [[ $INSTALL == 1 && $(id -u) == 0 ]]; then
    log "installing ${need_pkgs[*]} (apt-get)"
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${need_pkgs[@]}" \
      >>"$OUT/run.log" 2>&1 || {
      apt-get update >>"$OUT/run.log" 2>&1
      DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${need_pkgs[@]}" \
        >>"$OUT/run.log" 2>&1 || log "WARNING: apt-get install failed; servers that are missing are skipped"
    }
  else
    log "WARNING: missing ${need_pkgs[*]} (run as root, or INSTALL=1); those servers are skipped"
  fi
fi
for t in wrk openssl curl; do command -v $t >/dev/null || { log "ERROR: $t is required"; exit 1; }; done

cargo_build() {  # cargo_build ARGS...: cargo build --release, under flock if CARGO_LOCK is set
  if [[ -n $CARGO_LOCK ]]; then (cd "$REPO" && flock -o "$CARGO_LOCK" cargo build --release "$@")
  else (cd "$REPO" && cargo build --release "$@"); fi
}
if [[ $BUILD == 1 ]]; then
  log "cargo build --release (rhttpd, bench/tlsload)"
  T_B=$(date +%s)
  cargo_build >>"$OUT/run.log" 2>&1 || { log "ERROR: cargo build --release failed (see $OUT/run.log)"; exit 1; }
  if [[ $TLS_CLIENT == tlsload ]]; then
    cargo_build --manifest-path "$HERE/tlsload/Cargo.toml" --target-dir "$TLSLOAD_TARGET" >>"$OUT/run.log" 2>&1 ||
      cargo_build --offline --manifest-path "$HERE/tlsload/Cargo.toml" --target-dir "$TLSLOAD_TARGET" >>"$OUT/run.log" 2>&1 ||
      log "WARNING: bench/tlsload did not build (see $OUT/run.log)"
  fi
  log "  builds took $(( $(date +%s) - T_B )) s"
fi
if [[ $TLS_CLIENT == tlsload && ! -x $TLSLOAD ]]; then
  log "WARNING: $TLSLOAD missing: new-connection tests use openssl s_time ($STIME_PROCS processes) instead"
  TLS_CLIENT=s_time
fi
T_MEASURE=$(date +%s)

ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

"$PY" "$HERE/benchlib.py" docroot "$DOCROOT"

# One ECDSA P-256 key and self-signed certificate for every server, made now, never kept in git.
rm -rf "$TLSDIR"; mkdir -p "$TLSDIR"; chmod 755 "$TLSDIR"
CERT=$TLSDIR/cert.pem KEY=$TLSDIR/key.pem
# (CN = the servers' ServerName, no DNS name: Apache then checks the CN and does not warn)
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -sha256 -days 2 \
  -subj "/CN=127.0.0.1" -addext "subjectAltName=IP:127.0.0.1" \
  -addext "basicConstraints=critical,CA:FALSE" -addext "extendedKeyUsage=serverAuth" \
  -keyout "$KEY" -out "$CERT" >>"$OUT/run.log" 2>&1 || { log "ERROR: openssl could not make the certificate"; exit 1; }
chmod 600 "$KEY"; chmod 644 "$CERT"

# ------------------------------------------------------------------------------ environment
ver() { "$@" 2>&1 | head -1; }
rev=${RHTTPD_REV:-$(cd "$REPO" && git rev-parse --short HEAD 2>/dev/null || echo unknown)}
if [[ -z ${RHTTPD_REV:-} && -n $(cd "$REPO" && GIT_OPTIONAL_LOCKS=0 git status --porcelain --untracked-files=no 2>/dev/null) ]]; then
  rev="$rev (+ uncommitted changes)"
fi
case $TLS_CLIENT in
  tlsload) new_client="bench/tlsload (rustls 0.23 + ring, $CONNS_NEW threads, one connection each at a time)" ;;
  *) new_client="openssl s_time ($STIME_PROCS processes in parallel)" ;;
esac
"$PY" "$HERE/benchlib.py" env --results "$RESULTS" \
  "suite=tls" "mode=$([[ $QUICK == 1 ]] && echo quick || echo full)" \
  "nproc=$(nproc)" "mem=$(awk '/MemTotal/{printf "%.1f GiB", $2/1048576}' /proc/meminfo)" \
  "kernel=$(uname -sr)" "cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')" \
  "rhttpd=rhttpd $("$RHTTPD" -v 2>/dev/null | head -1 | sed 's/.*rhttpd\///;s/ .*//') git $rev" \
  "apache=$(ver /usr/sbin/apache2 -v | sed 's/Server version: //')" \
  "nginx=$(ver /usr/sbin/nginx -v | sed 's/nginx version: //')" \
  "h2o=$(ver h2o --version)" "openssl=$(ver openssl version)" \
  "wrk=$(ver wrk --version | awk '{print $1, $2}')" "python=$(ver "$PY" --version)" \
  "ulimit_n=$(ulimit -n)" "cert=ECDSA P-256 self-signed, SHA-256" \
  "client_ka=wrk -t2 -c50 (OpenSSL)" "client_new=$new_client" \
  "client_idle=python ssl (OpenSSL), non-blocking; fresh clients: python ssl" \
  "servers=$SERVERS" "settings=MAIN_DUR=$MAIN_DUR ROUNDS=$ROUNDS DUR=$DUR ROUNDS2=$ROUNDS2 CONNS_NEW=$CONNS_NEW TLS_CLIENT=$TLS_CLIENT IDLE_SERVERS=$IDLE_SERVERS IDLE_N=$IDLE_N IDLE_WRK_DUR=$IDLE_WRK_DUR KA_TIMEOUT=$KA_TIMEOUT"
log "results in $OUT; new-connection client: $new_client"

# ------------------------------------------------------------------------------ servers
port_of() {
  local i=0 s
  for s in $ALL_SERVERS; do [[ $s == "$1" ]] && { echo $((PORT_BASE + i)); return; }; i=$((i + 1)); done
  echo 0
}

declare -A S_PID S_PORT
CMD=()
# build_cmd NAME: sets CMD (the server in the foreground) and writes its config copy
build_cmd() {
  local name=$1 port run conf
  port=$(port_of "$name")
  run=$WORK/run/$name
  rm -rf "$run"; mkdir -p "$run"; chown www-data:www-data "$run" 2>/dev/null; chmod 755 "$run"
  case $name in
    rhttpd-*|apache-*)
      local impl=${name%%-*} mpm=${name#*-} defs
      conf=$HERE/configs/$impl-$mpm.conf
      defs=(-C "ServerRoot $run" -C "Define BENCH_PORT $port" -C "Define BENCH_RUN $run"
            -C "Define BENCH_DOCROOT $DOCROOT" -C "Define BENCH_CGI $WORK" -C "Define BENCH_KA $KA_TIMEOUT"
            -C "Define BENCH_MODS $APACHE_MODS" -C "Define BENCH_CONFIGS $HERE/configs"
            -C "Define BENCH_TLS_CERT $CERT" -C "Define BENCH_TLS_KEY $KEY" -D BENCH_TLS -D BENCH_NO_CGI)
      if [[ $impl == rhttpd ]]; then CMD=("$RHTTPD" -f "$conf" -D FOREGROUND "${defs[@]}")
      else CMD=(/usr/sbin/apache2 -f "$conf" -DFOREGROUND -D BENCH_APACHE "${defs[@]}"); fi
      if ! "${CMD[@]}" -t >"$run/configtest.txt" 2>&1; then
        log "ERROR: $name: config test failed: $(head -3 "$run/configtest.txt" | tr '\n' ' ')"; return 1
      fi
      ;;
    nginx|h2o)
      conf=$run/$name.conf
      sed -e "s#@PORT@#$port#g" -e "s#@RUN@#$run#g" -e "s#@DOCROOT@#$DOCROOT#g" \
          -e "s#@KA@#$KA_TIMEOUT#g" -e "s#@CERT@#$CERT#g" -e "s#@KEY@#$KEY#g" \
          "$HERE/configs/$name-tls.conf" >"$conf"
      case $name in
        nginx) CMD=(/usr/sbin/nginx -c "$conf" -g 'daemon off;') ;;
        h2o) CMD=(h2o -c "$conf") ;;
      esac
      command -v "${CMD[0]}" >/dev/null || { log "ERROR: $name is not installed"; return 1; }
      ;;
    *) log "ERROR: unknown server $name"; return 1 ;;
  esac
  printf '%q ' "${CMD[@]}" >"$OUT/conf/$name.cmd"
  cp -f "$conf" "$OUT/conf/" 2>/dev/null
  return 0
}

# start_server NAME -> S_PID[NAME], S_PORT[NAME]
start_server() {
  local name=$1 port code i
  port=$(port_of "$name")
  if [[ -n $(ss -Htln "sport = :$port" 2>/dev/null) ]]; then log "ERROR: port $port busy, $name skipped"; return 1; fi
  build_cmd "$name" || return 1
  perl -e 'setpgrp(0,0); exec { $ARGV[0] } @ARGV or die "exec: $!\n"' "${CMD[@]}" \
    >>"$OUT/raw/$name-server.log" 2>&1 </dev/null &
  S_PID[$name]=$!; S_PORT[$name]=$port
  for i in $(seq 1 150); do
    if ! kill -0 "${S_PID[$name]}" 2>/dev/null; then
      log "ERROR: $name exited at start (see $OUT/raw/$name-server.log)"; unset 'S_PID[$name]'; return 1
    fi
    code=$(curl -sk -o /dev/null -w '%{http_code}' --max-time 2 "https://127.0.0.1:$port/index.html")
    [[ $code == 200 ]] && break
    sleep 0.2
  done
  if [[ $code != 200 ]]; then log "ERROR: $name not ready over https"; stop_server "$name"; return 1; fi
  local n0=-1 n1
  for i in $(seq 1 40); do   # let pre-started pools finish (prefork: 1024 processes)
    n1=$("$PY" "$HERE/benchlib.py" pids "${S_PID[$name]}" | wc -l)
    [[ $n1 == "$n0" ]] && break
    n0=$n1; sleep 0.5
  done
  local chk
  chk=$("$PY" "$HERE/tls_measure.py" check --port "$port")
  echo "$chk" >"$OUT/raw/$name-check.json"
  log "  $name up: pid ${S_PID[$name]}, port $port, $n1 processes; $chk"
  if ! grep -q '"ok": true' <<<"$chk" || ! grep -q '"bytes": 1024' <<<"$chk"; then
    log "ERROR: $name: TLS check failed"; stop_server "$name"; return 1
  fi
}

# stop_server NAME: TERM the PID we started, then KILL leftovers of its tree (PID + same command
# name as when recorded, so a reused PID is never hit)
stop_server() {
  local name=$1 pid=${S_PID[$1]:-} p c i e
  [[ -z $pid ]] && return 0
  local tree=()
  for p in $("$PY" "$HERE/benchlib.py" pids "$pid"); do
    c=$(cat "/proc/$p/comm" 2>/dev/null) && tree+=("$p:$c")
  done
  kill -TERM "$pid" 2>/dev/null
  for i in $(seq 1 75); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
  kill -0 "$pid" 2>/dev/null && { log "  $name: no exit on TERM, KILL $pid"; kill -KILL "$pid" 2>/dev/null; }
  wait "$pid" 2>/dev/null
  for i in $(seq 1 10); do
    local left=0
    for e in "${tree[@]}"; do
      p=${e%%:*}; c=${e#*:}
      [[ $(cat "/proc/$p/comm" 2>/dev/null) == "$c" ]] && left=1
    done
    [[ $left == 0 ]] && break
    sleep 0.3
  done
  for e in "${tree[@]}"; do
    p=${e%%:*}; c=${e#*:}
    if [[ $(cat "/proc/$p/comm" 2>/dev/null) == "$c" ]]; then kill -KILL "$p" 2>/dev/null; fi
  done
  unset 'S_PID[$name]'
}

stop_all() {
  local n
  for n in "${!S_PID[@]}"; do stop_server "$n"; done
}
CHILD=
on_signal() {
  [[ -n $CHILD ]] && kill -TERM "$CHILD" 2>/dev/null && wait "$CHILD" 2>/dev/null
  stop_all
  log "interrupted"
  exit 130
}
trap on_signal INT TERM
trap stop_all EXIT

# run_bg CMD...: run a measuring helper and wait for it (traps act at once)
run_bg() {
  "$@" >"$OUT/.step" 2>&1 &
  CHILD=$!
  wait "$CHILD"; local rc=$?
  CHILD=
  tee -a "$OUT/run.log" <"$OUT/.step" >&2
  return $rc
}

# load_run NAME TEST ROUND CONNS SECONDS CLIENT CMD...
load_run() {
  local name=$1 test=$2 round=$3 c=$4 secs=$5 client=$6; shift 6
  run_bg "$PY" "$HERE/tls_measure.py" run --server "$name" --test "$test" --round "$round" \
    --conns "$c" --client "$client" --tree "${S_PID[$name]}" --out "$OUT/raw/$name-$test-$round.txt" \
    --results "$RESULTS" --timeout $((secs + 30)) --noisy-above "$NOISY_ABOVE" -- "$@"
}

# one_test NAME TEST ROUND
one_test() {
  local name=$1 test=$2 r=$3 port=${S_PORT[$1]} url secs
  url="https://127.0.0.1:$port/index.html"
  case $test in
    https_ka_c50)
      secs=${MAIN_DUR%s}
      load_run "$name" "$test" "$r" 50 "$secs" "wrk -t2 -c50" wrk -t2 -c50 -d"$MAIN_DUR" --latency "$url" ;;
    https_new_full|https_new_resumed)
      secs=${DUR%s}
      if [[ $TLS_CLIENT == tlsload ]]; then
        local resume=(); [[ $test == https_new_resumed ]] && resume=(--resume)
        load_run "$name" "$test" "$r" "$CONNS_NEW" "$secs" "tlsload -c$CONNS_NEW${resume:+ --resume}" \
          "$TLSLOAD" -c "$CONNS_NEW" -d "$secs" "${resume[@]}" "$url"
      else
        local mode=new; [[ $test == https_new_resumed ]] && mode=reuse
        load_run "$name" "$test" "$r" "$STIME_PROCS" "$secs" "openssl s_time -$mode x$STIME_PROCS" \
          "$PY" "$HERE/tls_measure.py" stime --port "$port" --mode "$mode" --procs "$STIME_PROCS" --time "$secs"
      fi ;;
  esac
}

# ------------------------------------------------------------------------------ measurements
up=()
log "=== servers (all up at once, KeepAliveTimeout $KA_TIMEOUT, TLS on every port)"
for name in $SERVERS; do
  start_server "$name" && up+=("$name")
done
[[ ${#up[@]} == 0 ]] && { log "no server started"; exit 1; }
if [[ $QUICK != 1 ]]; then
  log "warm-up (not recorded)"
  for name in "${up[@]}"; do
    timeout -k 2 15 wrk -t2 -c50 -d2s "https://127.0.0.1:${S_PORT[$name]}/index.html" >/dev/null 2>&1
  done
fi
n=${#up[@]}
for spec in "https_ka_c50 $ROUNDS wrk -t2 -c50 -d$MAIN_DUR keep-alive" \
            "https_new_full $ROUNDS2 $TLS_CLIENT -c$CONNS_NEW -d$DUR full handshakes" \
            "https_new_resumed $ROUNDS2 $TLS_CLIENT -c$CONNS_NEW -d$DUR resumed sessions"; do
  read -r test rounds what <<<"$spec"
  log "--- $test: $what x $rounds round(s)"
  for r in $(seq 1 "$rounds"); do
    for k in $(seq 0 $((n - 1))); do
      one_test "${up[$(( (k + r - 1) % n ))]}" "$test" "$r"   # the order rotates every round
    done
  done
done

if [[ -n $IDLE_SERVERS ]]; then
  log "=== tls_idle_$IDLE_N: $IDLE_N idle TLS keep-alive connections, one server at a time (the others idle)"
  for name in $IDLE_SERVERS; do
    [[ -z ${S_PID[$name]:-} ]] && { log "  $name: not running, idle test skipped"; continue; }
    st=none
    case $name in rhttpd-*|apache-*) st=apache ;; nginx) st=nginx ;; esac
    run_bg timeout -k 5 300 "$PY" "$HERE/tls_measure.py" idle --server "$name" --port "${S_PORT[$name]}" \
      --tree "${S_PID[$name]}" --n "$IDLE_N" --results "$RESULTS" --status "$st" \
      --probes "$IDLE_PROBES" --settle "$IDLE_SETTLE" --wrk-dur "$IDLE_WRK_DUR" \
      --wrk-out "$OUT/raw/$name-tls-idle-wrk.txt"
    sleep 1
  done
fi
for name in "${up[@]}"; do stop_server "$name"; done
log "measurement took $(( $(date +%s) - T_MEASURE )) s (total with builds: $(( $(date +%s) - T_START )) s)"

"$PY" "$HERE/tls_report.py" --results "$RESULTS" --out "$OUT" || log "ERROR: report failed"
log "done: $OUT/tls-report.md"
