#!/usr/bin/env bash
# rhttpd side-by-side benchmark: rhttpd (prefork / worker / event MPM), Apache httpd (same three
# MPMs), nginx, h2o and lighttpd, all on 127.0.0.1, measured with wrk in the same run.
#
#   bash bench/run.sh                    # full mode (~25-30 min)
#   QUICK=1 bash bench/run.sh            # quick mode (< 3 min once the release build is done)
#   SERVERS="rhttpd-event apache-event nginx" bash bench/run.sh
#
# Steps: installs missing Debian packages (root, apt-get), builds rhttpd with
# `cargo build --release`, writes a document root, then
#   phase 1 (throughput): every selected server up at once, each on its own port; each test runs
#     in interleaved rounds (every round measures every server once, the order rotated per round);
#   phase 2 (idle connections): one server at a time, freshly started: memory idle and with
#     IDLE_COUNTS idle keep-alive connections, and what a fresh client sees meanwhile;
#   phase h2 (PHASES=h2, see below): HTTP/2 with h2load, h2c and h2 over TLS;
#   phase htaccess (PHASES=htaccess): bench/htaccess.sh, a WordPress-style front controller
#     and a static hit under `AllowOverride All`, rhttpd vs Apache with the same MPM, and
#     the stat calls per request (strace -c);
#   phase gzip (PHASES=gzip): bench/gzip.sh, a 100 KiB HTML file gzip'ed at level 6 by
#     rhttpd, Apache mod_deflate and nginx;
#   report: results tables with ratios + SVG plots -> $OUT, and the generated section of
#     BENCHMARKS.md (+ bench/results/) when WRITE_MD=1.
#
# Environment knobs [full / quick defaults]:
#   SERVERS      [all nine]  rhttpd-prefork rhttpd-worker rhttpd-event apache-prefork
#                            apache-worker apache-event nginx h2o lighttpd
#   DUR          [10s / 1s]  duration of each secondary wrk run (c256, close, files, CGI)
#   MAIN_DUR     [10s / 2s]  duration of each 1 KiB keep-alive c50 run
#   ROUNDS       [5 / 2]     interleaved rounds of the main test (keep-alive 1 KiB c50)
#   ROUNDS2      [2 / 1]     interleaved rounds of every other throughput test
#   IDLE_COUNTS  ["1000 10000" / "1000"]   idle keep-alive connections held (phase 2)
#   IDLE_WRK_DUR [5s / 1s]   wrk -c50 run while the idle connections are held
#   PHASES       ["tput idle" / "tput+idle"]  which phases to run; tput+idle: one start for both;
#                slowloris (on demand): SLOW_CONNS [10000] half-sent heads for SLOW_DUR [60] s
#                (KeepAliveTimeout IDLE_KA_TIMEOUT throughout, idle test after the wrk tests)
#                h2 (on demand, ~4 min full / ~1 min quick): HTTP/2, every selected server but
#                prefork up at once, h2c on PORT_BASE+i and h2 over TLS (ALPN) on
#                PORT_BASE+H2_TLS_OFFSET+i; `h2load -n H2_N -c H2_CONNS -m H2_STREAMS` on the
#                1 KiB file in H2_ROUNDS interleaved rounds, then H2_IDLE_N idle h2c connections
#                (bench/h2_idle.py) on each of H2_IDLE_SERVERS, one at a time, on the fresh
#                servers and again after the load tests; report
#                $OUT/h2-report.md (bench/h2_report.py) and BENCHMARKS.md's HTTP/2 section
#                H2_N [100000 / 30000]  H2_ROUNDS [3 / 1]  H2_CONNS [50]  H2_STREAMS [10]
#                H2_THREADS [1] (h2load -t)  H2_TLS_OFFSET [50]  H2_IDLE_N [1000]
#                H2_IDLE_MORE [1000] (then this many more: the marginal cost per connection)
#                H2_IDLE_SERVERS ["rhttpd-event apache-event nginx h2o lighttpd"]
#   PORT_BASE    [28180]     server i (in the list above) listens on PORT_BASE+i
#   KA_TIMEOUT   [5]         KeepAliveTimeout (s) for phase 1; phase 2 uses IDLE_KA_TIMEOUT [300]
#   NOISY_ABOVE  [30]        flag runs where other processes used > this % CPU (of 200 %)
#   BUILD [1] INSTALL [1] WRITE_MD [1]     0 skips the build / the apt-get step / BENCHMARKS.md
#   RHTTPD [target/release/rhttpd] RHTTPD_REV [git HEAD]   another rhttpd binary and its label
#   WORK [/tmp/rhttpd-bench]  OUT [$WORK/results-<timestamp>]
#
# Everything talks to 127.0.0.1 only; every wrk run is bounded by -d and a hard timeout; the
# servers are started by this script, each with its own run directory, pid file and port, and
# only those processes (tracked by PID) are stopped.
set -u -o pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
PY=${PYTHON:-python3}
QUICK=${QUICK:-0}
ALL_SERVERS="rhttpd-prefork rhttpd-worker rhttpd-event apache-prefork apache-worker apache-event nginx h2o lighttpd"
SERVERS=${SERVERS:-$ALL_SERVERS}
if [[ $QUICK == 1 ]]; then
  DUR=${DUR:-1s}; MAIN_DUR=${MAIN_DUR:-2s}; ROUNDS=${ROUNDS:-2}; ROUNDS2=${ROUNDS2:-1}
  IDLE_COUNTS=${IDLE_COUNTS:-1000}; IDLE_WRK_DUR=${IDLE_WRK_DUR:-1s}; IDLE_PROBES=${IDLE_PROBES:-10}
  IDLE_SETTLE=${IDLE_SETTLE:-0.5}
  # one start for both phases: KeepAliveTimeout IDLE_KA_TIMEOUT throughout (it does not change
  # the wrk tests, whose connections are never idle), fresh memory right after start-up, idle
  # connections after the throughput tests
  PHASES=${PHASES:-"tput+idle"}
else
  DUR=${DUR:-10s}; MAIN_DUR=${MAIN_DUR:-10s}; ROUNDS=${ROUNDS:-5}; ROUNDS2=${ROUNDS2:-2}
  IDLE_COUNTS=${IDLE_COUNTS:-"1000 10000"}; IDLE_WRK_DUR=${IDLE_WRK_DUR:-5s}; IDLE_PROBES=${IDLE_PROBES:-50}
  IDLE_SETTLE=${IDLE_SETTLE:-3}
fi
PHASES=${PHASES:-"tput idle"}
if [[ $QUICK == 1 ]]; then H2_N=${H2_N:-30000}; H2_ROUNDS=${H2_ROUNDS:-1}
else H2_N=${H2_N:-100000}; H2_ROUNDS=${H2_ROUNDS:-3}; fi
H2_CONNS=${H2_CONNS:-50}
H2_STREAMS=${H2_STREAMS:-10}
H2_THREADS=${H2_THREADS:-1}
H2_TLS_OFFSET=${H2_TLS_OFFSET:-50}
H2_IDLE_N=${H2_IDLE_N:-1000}
H2_IDLE_MORE=${H2_IDLE_MORE:-1000}
H2_IDLE_SERVERS=${H2_IDLE_SERVERS-"rhttpd-event apache-event nginx h2o lighttpd"}
PORT_BASE=${PORT_BASE:-28180}
KA_TIMEOUT=${KA_TIMEOUT:-5}
IDLE_KA_TIMEOUT=${IDLE_KA_TIMEOUT:-300}
NOISY_ABOVE=${NOISY_ABOVE:-30}
BUILD=${BUILD:-1}
INSTALL=${INSTALL:-1}
WRITE_MD=${WRITE_MD:-1}
WORK=${WORK:-/tmp/rhttpd-bench}
STAMP=$(date +%Y%m%d-%H%M%S)
OUT=${OUT:-$WORK/results-$STAMP}
RESULTS=$OUT/results.jsonl
DOCROOT=$WORK/docroot
CGIDIR=$WORK/cgi
# RHTTPD: the binary to measure (e.g. a build of an earlier commit, with BUILD=0 and
# RHTTPD_REV naming it, to compare before and after a change against the same peers).
RHTTPD=${RHTTPD:-$REPO/target/release/rhttpd}
APACHE_MODS=/usr/lib/apache2/modules
T_START=$(date +%s)

mkdir -p "$OUT/raw" "$OUT/conf" "$WORK/run"
chmod 755 "$WORK" "$WORK/run"
log() { printf '%s %s\n' "$(date +%H:%M:%S)" "$*" | tee -a "$OUT/run.log" >&2; }

# ------------------------------------------------------------------------------ prerequisites
need_pkgs=()
for pair in apache2:apache2 nginx:nginx h2o:h2o lighttpd:lighttpd wrk:wrk h2load:nghttp2-client \
            curl:curl openssl:openssl; do
  command -v "${pair%%:*}" >/dev/null 2>&1 || [[ -x /usr/sbin/${pair%%:*} ]] || need_pkgs+=("${pair#*:}")
done
# lighttpd's TLS module (phase h2) is a package of its own
[[ -e /usr/lib/lighttpd/mod_openssl.so ]] || need_pkgs+=(lighttpd-mod-openssl)
if [[ ${#need_pkgs[@]} -gt 0 ]]; then
  if [[ $INSTALL == 1 && $(id -u) == 0 ]]; then
    log "installing ${need_pkgs[*]} (apt-get)"
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${need_pkgs[@]}" \
      >>"$OUT/run.log" 2>&1 || {
      apt-get update >>"$OUT/run.log" 2>&1
      DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${need_pkgs[@]}" \
        >>"$OUT/run.log" 2>&1 || log "WARNING: apt-get install failed; servers that are missing are skipped"
    }
    # Debian starts the packaged daemons on port 80: this benchmark does not use them.
  else
    log "WARNING: missing ${need_pkgs[*]} (run as root, or INSTALL=1); those servers are skipped"
  fi
fi
command -v wrk >/dev/null || { log "ERROR: wrk is required"; exit 1; }

if [[ $BUILD == 1 ]]; then
  log "cargo build --release"
  T_B=$(date +%s)
  (cd "$REPO" && cargo build --release) >>"$OUT/run.log" 2>&1 || { log "ERROR: cargo build --release failed (see $OUT/run.log)"; exit 1; }
  log "  build took $(( $(date +%s) - T_B )) s"
fi
T_MEASURE=$(date +%s)

# File descriptors: 10,000 idle connections need > 10,000 in the client and in the servers.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

"$PY" "$HERE/benchlib.py" docroot "$DOCROOT"
mkdir -p "$CGIDIR"
install -m 755 "$HERE/cgi/hello.cgi" "$CGIDIR/hello.cgi"
chmod 755 "$CGIDIR"

# ------------------------------------------------------------------------------ environment
ver() { "$@" 2>&1 | head -1; }
rev=${RHTTPD_REV:-$(cd "$REPO" && git rev-parse --short HEAD 2>/dev/null || echo unknown)}
if [[ -z ${RHTTPD_REV:-} && -n $(cd "$REPO" && GIT_OPTIONAL_LOCKS=0 git status --porcelain --untracked-files=no 2>/dev/null) ]]; then
  rev="$rev (+ uncommitted changes)"
fi
"$PY" "$HERE/benchlib.py" env --results "$RESULTS" \
  "mode=$([[ $QUICK == 1 ]] && echo quick || echo full)" \
  "nproc=$(nproc)" "mem=$(awk '/MemTotal/{printf "%.1f GiB", $2/1048576}' /proc/meminfo)" \
  "kernel=$(uname -sr)" "cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')" \
  "rhttpd=rhttpd $("$RHTTPD" -v 2>/dev/null | head -1 | sed 's/.*rhttpd\///;s/ .*//') git $rev" \
  "apache=$(ver /usr/sbin/apache2 -v | sed 's/Server version: //')" \
  "nginx=$(ver /usr/sbin/nginx -v | sed 's/nginx version: //')" \
  "h2o=$(ver h2o --version)" "lighttpd=$(ver lighttpd -v | sed 's/ - a light.*//')" \
  "wrk=$(ver wrk --version | awk '{print $1, $2}')" "h2load=$(ver h2load --version)" \
  "python=$(ver "$PY" --version)" "ulimit_n=$(ulimit -n)" \
  "openssl=$(ver openssl version)" \
  "servers=$SERVERS" "settings=PHASES=$PHASES DUR=$DUR MAIN_DUR=$MAIN_DUR ROUNDS=$ROUNDS ROUNDS2=$ROUNDS2 IDLE_COUNTS=$IDLE_COUNTS IDLE_WRK_DUR=$IDLE_WRK_DUR KA_TIMEOUT=$KA_TIMEOUT IDLE_KA_TIMEOUT=$IDLE_KA_TIMEOUT" \
  "settings_h2=H2_N=$H2_N H2_ROUNDS=$H2_ROUNDS H2_CONNS=$H2_CONNS H2_STREAMS=$H2_STREAMS H2_THREADS=$H2_THREADS H2_IDLE_N=$H2_IDLE_N H2_IDLE_MORE=$H2_IDLE_MORE H2_IDLE_SERVERS=$H2_IDLE_SERVERS"
log "results in $OUT"

# ------------------------------------------------------------------------------ servers
port_of() {
  local i=0 s
  for s in $ALL_SERVERS; do [[ $s == "$1" ]] && { echo $((PORT_BASE + i)); return; }; i=$((i + 1)); done
  echo 0
}

declare -A S_PID S_PORT S_TREE S_CGI
CMD=()
APACHE_EXTRA=()
H2=0               # 1 during phase h2: HTTP/2 configs, a TLS port beside the cleartext one
CERT= KEY=         # phase h2's certificate and key (make_cert)
# build_cmd NAME KATIMEOUT: sets CMD (the server in the foreground) and writes its config copy
build_cmd() {
  local name=$1 ka=$2 port run conf
  port=$(port_of "$name")
  run=$WORK/run/$name
  rm -rf "$run"; mkdir -p "$run"; chown www-data:www-data "$run" 2>/dev/null; chmod 755 "$run"
  case $name in
    rhttpd-*|apache-*)
      local impl=${name%%-*} mpm=${name#*-} bin defs
      conf=$HERE/configs/$impl-$mpm.conf
      defs=(-C "ServerRoot $run" -C "Define BENCH_PORT $port" -C "Define BENCH_RUN $run"
            -C "Define BENCH_DOCROOT $DOCROOT" -C "Define BENCH_CGI $CGIDIR" -C "Define BENCH_KA $ka"
            -C "Define BENCH_MODS $APACHE_MODS" -C "Define BENCH_CONFIGS $HERE/configs")
      if [[ $H2 == 1 ]]; then
        defs+=(-C "Define BENCH_TLS_PORT $((port + H2_TLS_OFFSET))" -C "Define BENCH_TLS_CERT $CERT"
               -C "Define BENCH_TLS_KEY $KEY" -D BENCH_H2)
        [[ $impl == apache ]] && defs+=(-D BENCH_APACHE)
      fi
      if [[ $impl == rhttpd ]]; then bin=$RHTTPD; CMD=("$bin" -f "$conf" -D FOREGROUND "${defs[@]}")
      else bin=/usr/sbin/apache2; CMD=("$bin" -f "$conf" -DFOREGROUND "${defs[@]}" "${APACHE_EXTRA[@]}"); fi
      # a build without CGI support rejects `LoadModule cgi_module`: run it without CGI
      if ! "${CMD[@]}" -t >"$run/configtest.txt" 2>&1; then
        if "${CMD[@]}" -D BENCH_NO_CGI -t >>"$run/configtest.txt" 2>&1; then
          log "  $name: config test fails with CGI, passes without: CGI disabled ($(head -1 "$run/configtest.txt"))"
          CMD+=(-D BENCH_NO_CGI)
        else
          log "ERROR: $name: config test failed: $(head -3 "$run/configtest.txt" | tr '\n' ' ')"; return 1
        fi
      fi
      ;;
    nginx|h2o|lighttpd)
      conf=$run/$name.conf
      local src=$HERE/configs/$name.conf
      [[ $H2 == 1 ]] && src=$HERE/configs/$name-h2.conf
      sed -e "s#@PORT@#$port#g" -e "s#@RUN@#$run#g" -e "s#@DOCROOT@#$DOCROOT#g" \
          -e "s#@CGI@#$CGIDIR#g" -e "s#@KA@#$ka#g" -e "s#@TLSPORT@#$((port + H2_TLS_OFFSET))#g" \
          -e "s#@CERT@#$CERT#g" -e "s#@KEY@#$KEY#g" "$src" >"$conf"
      case $name in
        nginx) CMD=(/usr/sbin/nginx -c "$conf" -g 'daemon off;') ;;
        h2o) CMD=(h2o -c "$conf") ;;
        lighttpd) CMD=(lighttpd -D -f "$conf") ;;
      esac
      command -v "${CMD[0]}" >/dev/null || { log "ERROR: $name is not installed"; return 1; }
      ;;
    *) log "ERROR: unknown server $name"; return 1 ;;
  esac
  printf '%q ' "${CMD[@]}" >"$OUT/conf/$name-ka$ka$([[ $H2 == 1 ]] && echo -h2).cmd"
  cp -f "$conf" "$OUT/conf/" 2>/dev/null
  return 0
}

# start_server NAME KATIMEOUT -> S_PID[NAME], S_PORT[NAME], S_TREE[NAME]
start_server() {
  local name=$1 ka=$2 port code i
  port=$(port_of "$name")
  if [[ -n $(ss -Htln "sport = :$port" 2>/dev/null) ]]; then log "ERROR: port $port busy, $name skipped"; return 1; fi
  if [[ $H2 == 1 && -n $(ss -Htln "sport = :$((port + H2_TLS_OFFSET))" 2>/dev/null) ]]; then
    log "ERROR: port $((port + H2_TLS_OFFSET)) busy, $name skipped"; return 1
  fi
  build_cmd "$name" "$ka" || return 1
  # Own process group (Apache prefork signals its whole group on shutdown), same session (so the
  # same scheduler autogroup as wrk). perl execs in place: $! is the server's PID.
  perl -e 'setpgrp(0,0); exec { $ARGV[0] } @ARGV or die "exec: $!\n"' "${CMD[@]}" \
    >>"$OUT/raw/$name-server.log" 2>&1 </dev/null &
  S_PID[$name]=$!; S_PORT[$name]=$port
  for i in $(seq 1 150); do
    if ! kill -0 "${S_PID[$name]}" 2>/dev/null; then
      log "ERROR: $name exited at start (see $OUT/raw/$name-server.log)"; unset 'S_PID[$name]'; return 1
    fi
    if [[ $H2 == 1 ]]; then   # nginx's h2c port takes prior knowledge only
      code=$(curl -s --http2-prior-knowledge -o /dev/null -w '%{http_code}' --max-time 2 "http://127.0.0.1:$port/index.html")
    else
      code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://127.0.0.1:$port/index.html")
    fi
    [[ $code == 200 ]] && break
    sleep 0.2
  done
  if [[ $code != 200 ]]; then log "ERROR: $name not ready"; stop_server "$name"; return 1; fi
  # let pre-started pools finish (prefork: 1024 processes): wait until the process count is stable
  local n0=-1 n1
  for i in $(seq 1 40); do
    n1=$("$PY" "$HERE/benchlib.py" pids "${S_PID[$name]}" | wc -l)
    [[ $n1 == "$n0" ]] && break
    n0=$n1; sleep 0.5
  done
  [[ $H2 == 1 ]] && { h2_check "$name" "$n1"; return; }
  local s1 s2 s3 cgi
  s1=$(curl -s -o /dev/null -w '%{size_download}' --max-time 5 "http://127.0.0.1:$port/index.html")
  s2=$(curl -s -o /dev/null -w '%{size_download}' --max-time 5 "http://127.0.0.1:$port/100k.bin")
  s3=$(curl -s -o /dev/null -w '%{size_download}' --max-time 5 "http://127.0.0.1:$port/1m.bin")
  cgi=$(curl -s --max-time 5 "http://127.0.0.1:$port/cgi-bin/hello.cgi" 2>/dev/null)
  if [[ $cgi == "Hello from CGI" ]]; then S_CGI[$name]=1; else S_CGI[$name]=0; fi
  log "  $name up: pid ${S_PID[$name]}, port $port, $n1 processes; sizes $s1/$s2/$s3; CGI $([[ ${S_CGI[$name]} == 1 ]] && echo ok || echo no)"
  if [[ $s1 != 1024 || $s2 != 102400 || $s3 != 1048576 ]]; then
    log "ERROR: $name serves wrong sizes"; stop_server "$name"; return 1
  fi
}

# stop_server NAME: TERM the PID we started, then KILL leftovers of its tree (PID + same command
# name as when recorded, so a reused PID is never hit)
stop_server() {
  local name=$1 pid=${S_PID[$1]:-} p c i
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

# wrk_run NAME TEST ROUND CONNS DURATION PATH [extra wrk args]
wrk_run() {
  local name=$1 test=$2 round=$3 c=$4 d=$5 path=$6; shift 6
  local secs=${d%s}
  run_bg "$PY" "$HERE/benchlib.py" wrk --server "$name" --test "$test" --round "$round" --conns "$c" \
    --tree "${S_PID[$name]}" --out "$OUT/raw/$name-$test-$round.txt" --results "$RESULTS" \
    --timeout $((secs + 20)) --noisy-above "$NOISY_ABOVE" -- \
    wrk -t2 -c"$c" -d"$d" --latency "$@" "http://127.0.0.1:${S_PORT[$name]}$path"
}

# ------------------------------------------------------------------------------ phase 1
phase_tput() {
  local up=() name with_idle=${1:-0} ka=$KA_TIMEOUT
  [[ $with_idle == 1 ]] && ka=$IDLE_KA_TIMEOUT
  log "=== phase 1: throughput (servers up at once, interleaved rounds; KeepAliveTimeout $ka)"
  for name in $SERVERS; do
    start_server "$name" "$ka" && up+=("$name")
  done
  if [[ $with_idle == 1 ]]; then
    for name in "${up[@]}"; do
      run_bg "$PY" "$HERE/idle.py" --server "$name" --port "${S_PORT[$name]}" --tree "${S_PID[$name]}" \
        --results "$RESULTS" --fresh only
    done
  fi
  [[ ${#up[@]} == 0 ]] && { log "no server started"; return 1; }
  if [[ $QUICK != 1 ]]; then
    for name in "${up[@]}"; do   # warm-up, not recorded (quick mode: the first round warms up)
      timeout -k 2 15 wrk -t2 -c50 -d2s "http://127.0.0.1:${S_PORT[$name]}/index.html" >/dev/null 2>&1
    done
  fi
  local n=${#up[@]} spec test c d path rounds r k extra
  # test  conns  duration  rounds  path  [close: send Connection: close]
  local tests=(
    "ka_c50 50 $MAIN_DUR $ROUNDS /index.html"
    "ka_c256 256 $DUR $ROUNDS2 /index.html"
    "close_c50 50 $DUR $ROUNDS2 /index.html close"
    "f100k_c50 50 $DUR $ROUNDS2 /100k.bin"
    "f1m_c50 50 $DUR $ROUNDS2 /1m.bin"
    "cgi_c20 20 $DUR $ROUNDS2 /cgi-bin/hello.cgi"
  )
  for spec in "${tests[@]}"; do
    read -r test c d rounds path extra <<<"$spec"
    log "--- $test: wrk -t2 -c$c -d$d $path ${extra:-} x $rounds round(s)"
    for r in $(seq 1 "$rounds"); do
      for k in $(seq 0 $((n - 1))); do
        name=${up[$(( (k + r - 1) % n ))]}   # the order rotates every round
        if [[ $test == cgi_* && ${S_CGI[$name]} != 1 ]]; then
          [[ $r == 1 ]] && "$PY" "$HERE/benchlib.py" skip --server "$name" --test "$test" --results "$RESULTS" \
            --why "$(case $name in nginx) echo 'nginx has no CGI';; rhttpd-*) echo 'CGI not available in this build';; *) echo 'CGI not answering';; esac)"
          continue
        fi
        if [[ ${extra:-} == close ]]; then
          wrk_run "$name" "$test" "$r" "$c" "$d" "$path" -H "Connection: close"
        else
          wrk_run "$name" "$test" "$r" "$c" "$d" "$path"
        fi
      done
    done
  done
  if [[ $with_idle == 1 ]]; then
    log "=== idle keep-alive connections ($IDLE_COUNTS), one server at a time (the others idle)"
    for name in "${up[@]}"; do idle_test "$name" skip; done
  fi
  for name in "${up[@]}"; do stop_server "$name"; done
}

# ------------------------------------------------------------------------------ phase 2
# idle_test NAME FRESH(record|skip)
idle_test() {
  local name=$1 counts skip=()
  counts=$(echo "$IDLE_COUNTS" | tr ' ' ',')
  case $name in
    *-prefork) skip=(--skip-above 1100 --skip-why "one process per connection, MaxRequestWorkers 1100") ;;
    *-worker) skip=(--skip-above 1024 --skip-why "one thread per connection, MaxRequestWorkers 1024") ;;
  esac
  run_bg timeout -k 5 400 "$PY" "$HERE/idle.py" --server "$name" --port "${S_PORT[$name]}" \
    --tree "${S_PID[$name]}" --counts "$counts" --results "$RESULTS" --probes "$IDLE_PROBES" \
    --wrk-dur "$IDLE_WRK_DUR" --settle "$IDLE_SETTLE" --wrk-out "$OUT/raw/$name-idle-wrk.txt" \
    --fresh "$2" "${skip[@]}"
}

phase_idle() {
  local name
  log "=== phase 2: idle keep-alive connections ($IDLE_COUNTS), one server at a time, KeepAliveTimeout $IDLE_KA_TIMEOUT"
  for name in $SERVERS; do
    start_server "$name" "$IDLE_KA_TIMEOUT" || continue
    idle_test "$name" record
    stop_server "$name"
  done
}

# ------------------------------------------------------------------------------ slowloris
# PHASES=slowloris (not in the defaults): one server at a time, SLOW_CONNS connections that
# never finish their request head (a header line a second) for SLOW_DUR s, while fresh
# clients are timed (bench/slowloris.py). Apache gets mod_reqtimeout (Debian enables it by
# default; its defaults apply); rhttpd has it built in; nginx keeps its defaults.
SLOW_CONNS=${SLOW_CONNS:-10000}
SLOW_DUR=${SLOW_DUR:-60}
phase_slowloris() {
  local name
  log "=== slowloris: $SLOW_CONNS connections for ${SLOW_DUR}s, one server at a time"
  APACHE_EXTRA=(-C "LoadModule reqtimeout_module $APACHE_MODS/mod_reqtimeout.so")
  for name in $SERVERS; do
    start_server "$name" "$KA_TIMEOUT" || continue
    run_bg timeout -k 5 $((SLOW_DUR + 180)) "$PY" "$HERE/slowloris.py" --server "$name" \
      --port "${S_PORT[$name]}" --tree "${S_PID[$name]}" --conns "$SLOW_CONNS" \
      --duration "$SLOW_DUR" --results "$RESULTS"
    stop_server "$name"
  done
  APACHE_EXTRA=()
}

# ------------------------------------------------------------------------------ phase h2
# PHASES=h2: HTTP/2. Every selected server but prefork up at once (HTTP/2 is inactive under
# prefork: mod_http2's AH10034, and rhttpd follows it), each with h2c on its port (prior knowledge) and TLS (ALPN h2) on
# port + H2_TLS_OFFSET, the same ECDSA P-256 certificate for all, made now. Tests, each in
# H2_ROUNDS interleaved rounds (order rotated per round):
#   h2c_c50m10     h2load -n H2_N -c50 -m10 http://127.0.0.1:PORT/index.html
#   h2tls_c50m10   the same over https:// (h2load offers h2 by ALPN)
# H2_IDLE_N idle h2c connections (bench/h2_idle.py: one GET each, then held) on each of
# H2_IDLE_SERVERS, one at a time, the others up but idle: once on the fresh servers (before any
# load: the memory a server has to commit for them) and once after the load tests (when the
# allocator may reuse what the load left free). KeepAliveTimeout IDLE_KA_TIMEOUT throughout.
make_cert() {
  local dir=$WORK/tls
  rm -rf "$dir"; mkdir -p "$dir"; chmod 755 "$dir"
  CERT=$dir/cert.pem KEY=$dir/key.pem
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -sha256 -days 2 \
    -subj "/CN=127.0.0.1" -addext "subjectAltName=IP:127.0.0.1" \
    -addext "basicConstraints=critical,CA:FALSE" -addext "extendedKeyUsage=serverAuth" \
    -keyout "$KEY" -out "$CERT" >>"$OUT/run.log" 2>&1 || { log "ERROR: openssl could not make the certificate"; return 1; }
  chmod 600 "$KEY"; chmod 644 "$CERT"
}

# h2_check NAME PROCS: the 1 KiB file over h2c (prior knowledge) and over TLS (ALPN), HTTP/2 both
h2_check() {
  local name=$1 procs=$2 port=${S_PORT[$1]} c t
  c=$(curl -s --http2-prior-knowledge -o /dev/null -w '%{http_code} HTTP/%{http_version} %{size_download}' \
        --max-time 5 "http://127.0.0.1:$port/index.html")
  t=$(curl -sk --http2 -o /dev/null -w '%{http_code} HTTP/%{http_version} %{size_download}' \
        --max-time 5 "https://127.0.0.1:$((port + H2_TLS_OFFSET))/index.html")
  log "  $name up: pid ${S_PID[$name]}, ports $port (h2c: $c) and $((port + H2_TLS_OFFSET)) (TLS: $t), $procs processes"
  if [[ $c != "200 HTTP/2 1024" || $t != "200 HTTP/2 1024" ]]; then
    log "ERROR: $name does not serve the 1 KiB file over HTTP/2 on both ports"; stop_server "$name"; return 1
  fi
}

# h2_run NAME TEST ROUND [N]: one bounded h2load run (count H2_N and a deadline); N given = warm-up
h2_run() {
  local name=$1 test=$2 r=$3 n=${4:-$H2_N} url port=${S_PORT[$1]} limit
  case $test in
    h2c_*) url="http://127.0.0.1:$port/index.html" ;;
    h2tls_*) url="https://127.0.0.1:$((port + H2_TLS_OFFSET))/index.html" ;;
  esac
  # the deadline: 5,000 req/s at least (Apache event does ~10k on h2c), and 20 s of slack
  limit=$(( n / 5000 + 20 ))
  if [[ $# -ge 4 ]]; then
    timeout -k 2 "$limit" h2load -n "$n" -c "$H2_CONNS" -m "$H2_STREAMS" -t "$H2_THREADS" "$url" >/dev/null 2>&1
    return 0
  fi
  run_bg "$PY" "$HERE/h2_measure.py" run --server "$name" --test "$test" --round "$r" \
    --conns "$H2_CONNS" --streams "$H2_STREAMS" --tree "${S_PID[$name]}" \
    --out "$OUT/raw/$name-$test-$r.txt" --log "$OUT/raw/.h2load-log.tsv" --results "$RESULTS" \
    --timeout "$limit" --noisy-above "$NOISY_ABOVE" -- \
    timeout -k 2 "$limit" h2load -n "$n" -c "$H2_CONNS" -m "$H2_STREAMS" -t "$H2_THREADS" \
      --log-file "$OUT/raw/.h2load-log.tsv" "$url"
}

# h2_idle_all WHEN(fresh|after_load)
h2_idle_all() {
  local name
  [[ -z $H2_IDLE_SERVERS ]] && return 0
  log "=== h2_idle ($1): $H2_IDLE_N idle h2c connections, one server at a time (the others idle)"
  for name in $H2_IDLE_SERVERS; do
    [[ -z ${S_PID[$name]:-} ]] && { log "  $name: not running, h2 idle test skipped"; continue; }
    run_bg timeout -k 5 180 "$PY" "$HERE/h2_idle.py" --server "$name" --port "${S_PORT[$name]}" \
      --tree "${S_PID[$name]}" --conns "$H2_IDLE_N" --more "$H2_IDLE_MORE" --settle "$IDLE_SETTLE" \
      --when "$1" --results "$RESULTS"
    sleep 1   # let the server notice the closed connections before the next one is measured
  done
}

phase_h2() {
  local up=() name test r k n
  local tests=("h2c_c50m10" "h2tls_c50m10")
  command -v h2load >/dev/null || { log "ERROR: h2load (nghttp2-client) is required for phase h2"; return 1; }
  make_cert || return 1
  H2=1
  log "=== h2: HTTP/2, h2load -n $H2_N -c$H2_CONNS -m$H2_STREAMS -t$H2_THREADS, h2c and TLS, $H2_ROUNDS interleaved round(s); KeepAliveTimeout $IDLE_KA_TIMEOUT"
  for name in $SERVERS; do
    if [[ $name == *-prefork ]]; then
      for test in "${tests[@]}"; do
        "$PY" "$HERE/benchlib.py" skip --server "$name" --test "$test" --results "$RESULTS" \
          --why "HTTP/2 is inactive under prefork (mod_http2's AH10034; rhttpd does the same)"
      done
      continue
    fi
    start_server "$name" "$IDLE_KA_TIMEOUT" && up+=("$name")
  done
  n=${#up[@]}
  if [[ $n == 0 ]]; then log "no server started"; H2=0; return 1; fi
  h2_idle_all fresh
  log "warm-up (not recorded): h2load -n $((H2_N / 10)) on each port"
  for name in "${up[@]}"; do
    for test in "${tests[@]}"; do h2_run "$name" "$test" 0 $((H2_N / 10)); done
  done
  for test in "${tests[@]}"; do
    log "--- $test x $H2_ROUNDS round(s)"
    for r in $(seq 1 "$H2_ROUNDS"); do
      for k in $(seq 0 $((n - 1))); do
        h2_run "${up[$(( (k + r - 1) % n ))]}" "$test" "$r"   # the order rotates every round
      done
    done
  done
  h2_idle_all after_load
  for name in "${up[@]}"; do stop_server "$name"; done
  H2=0
}

ran_h1=0 ran_h2=0
for ph in $PHASES; do
  case $ph in
    tput) phase_tput; ran_h1=1 ;;
    tput+idle) phase_tput 1; ran_h1=1 ;;
    idle) phase_idle; ran_h1=1 ;;
    slowloris) phase_slowloris; ran_h1=1 ;;
    h2) phase_h2; ran_h2=1 ;;
    htaccess)
      # bench/htaccess.sh: its own servers, ports and report ($OUT/htaccess.md).
      log "=== phase htaccess: .htaccess + mod_rewrite, rhttpd vs Apache (bench/htaccess.sh)"
      RHTTPD="$RHTTPD" BUILD=0 OUT="$OUT" bash "$HERE/htaccess.sh" || log "ERROR: htaccess phase failed" ;;
    gzip)
      # bench/gzip.sh: its own servers, ports and report ($OUT/gzip.md).
      log "=== phase gzip: 100 KiB HTML gzip, rhttpd vs Apache mod_deflate vs nginx (bench/gzip.sh)"
      RHTTPD="$RHTTPD" BUILD=0 OUT="$OUT" bash "$HERE/gzip.sh" || log "ERROR: gzip phase failed" ;;
    *) log "unknown phase $ph" ;;
  esac
done
log "measurement took $(( $(date +%s) - T_MEASURE )) s (total with build: $(( $(date +%s) - T_START )) s)"

# each report replaces only its own generated section of BENCHMARKS.md
if [[ $ran_h1 == 1 ]]; then
  md_args=()
  [[ $WRITE_MD == 1 ]] && md_args=(--benchmarks-md "$REPO/BENCHMARKS.md" --svg-dir "$REPO/bench/results")
  "$PY" "$HERE/report.py" --results "$RESULTS" --out "$OUT" "${md_args[@]}" || log "ERROR: report failed"
  log "done: $OUT/report.md"
fi
if [[ $ran_h2 == 1 ]]; then
  md_args=()
  [[ $WRITE_MD == 1 ]] && md_args=(--benchmarks-md "$REPO/BENCHMARKS.md")
  "$PY" "$HERE/h2_report.py" --results "$RESULTS" --out "$OUT" "${md_args[@]}" || log "ERROR: h2 report failed"
  log "done: $OUT/h2-report.md"
fi
