#!/usr/bin/env bash
# A/B: two rhttpd builds side by side with the benchmark's own configurations, measured with
# wrk in interleaved rounds (every round runs both builds, the order alternating), so that a
# change is compared with what it replaced under the same machine load.
#
#   bash bench/ab.sh OLD_BINARY NEW_BINARY
#   MPMS="event worker prefork" ROUNDS=3 DUR=5s TESTS="ka_c50 1m_c50" bash bench/ab.sh old/rhttpd target/release/rhttpd
#
# Tests: 1 KiB keep-alive c50 and c256, 1 KiB Connection: close c50, 1 MiB c50. Prints one
# table per MPM: median req/s of each build and new/old. Everything is on 127.0.0.1; each
# wrk run is bounded by -d and a hard timeout; the servers are started here (own process
# group each) and stopped at the end, also on interrupt.
set -u -o pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
OLD=${1:?usage: bench/ab.sh OLD_BINARY NEW_BINARY}
NEW=${2:?usage: bench/ab.sh OLD_BINARY NEW_BINARY}
MPMS=${MPMS:-"event worker prefork"}
ROUNDS=${ROUNDS:-3}
DUR=${DUR:-5s}
TESTS=${TESTS:-"ka_c50 ka_c256 close_c50 1m_c50"}
PORT_BASE=${PORT_BASE:-28280}
WORK=${WORK:-/tmp/rhttpd-ab}
PY=${PYTHON:-python3}

mkdir -p "$WORK"
"$PY" "$HERE/benchlib.py" docroot "$WORK/docroot"
ulimit -n 65536 2>/dev/null || true

pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -TERM -- "-$p" 2>/dev/null; done
  for p in "${pids[@]}"; do
    for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -KILL -- "-$p" 2>/dev/null
  done
  pids=()
}
trap cleanup EXIT INT TERM

start() { # start BIN MPM PORT -> pid of its process group
  local bin=$1 mpm=$2 port=$3 run=$WORK/run-$3
  rm -rf "$run"; mkdir -p "$run"
  setsid "$bin" -f "$HERE/configs/rhttpd-$mpm.conf" -D FOREGROUND -D BENCH_NO_CGI \
    -C "ServerRoot $run" -C "Define BENCH_PORT $port" -C "Define BENCH_RUN $run" \
    -C "Define BENCH_DOCROOT $WORK/docroot" -C "Define BENCH_CGI $WORK" -C "Define BENCH_KA 5" \
    -C "Define BENCH_MODS /usr/lib/apache2/modules" -C "Define BENCH_CONFIGS $HERE/configs" \
    >"$run/stdout" 2>&1 &
  pids+=($!)
  for _ in $(seq 100); do
    curl -s -o /dev/null "http://127.0.0.1:$port/index.html" && return 0
    sleep 0.1
  done
  echo "server $bin ($mpm) did not answer on $port: $(tail -3 "$run/stdout")" >&2
  return 1
}

rps() { # rps PORT CONNS PATH [wrk args] -> requests/s
  local port=$1 c=$2 path=$3; shift 3
  timeout -k 2 60 wrk -t2 -c"$c" -d"$DUR" "$@" "http://127.0.0.1:$port$path" 2>/dev/null |
    awk '/Requests\/sec/ {print $2}'
}

median() { sort -g | awk '{a[NR]=$1} END {if (NR) print (NR % 2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2); else print 0}'; }

tests=("ka_c50|50|/index.html" "ka_c256|256|/index.html" "close_c50|50|/index.html|-H|Connection: close" "1m_c50|50|/1m.bin")
i=0
for mpm in $MPMS; do
  old_port=$((PORT_BASE + 2 * i)); new_port=$((old_port + 1)); i=$((i + 1))
  start "$OLD" "$mpm" "$old_port" && start "$NEW" "$mpm" "$new_port" || exit 1
  # warm-up
  rps "$old_port" 50 /index.html >/dev/null; rps "$new_port" 50 /index.html >/dev/null
  echo "### $mpm ($ROUNDS interleaved rounds of $DUR; median req/s)"
  echo "| test | old | new | new/old |"
  echo "|---|---:|---:|---:|"
  for t in "${tests[@]}"; do
    IFS='|' read -r name c path h1 h2 <<<"$t"
    [[ " $TESTS " == *" $name "* ]] || continue
    extra=(); [[ -n ${h1:-} ]] && extra=("$h1" "$h2")
    o=(); n=()
    for r in $(seq "$ROUNDS"); do
      if (( r % 2 )); then
        o+=("$(rps "$old_port" "$c" "$path" "${extra[@]}")"); n+=("$(rps "$new_port" "$c" "$path" "${extra[@]}")")
      else
        n+=("$(rps "$new_port" "$c" "$path" "${extra[@]}")"); o+=("$(rps "$old_port" "$c" "$path" "${extra[@]}")")
      fi
    done
    om=$(printf '%s\n' "${o[@]}" | median); nm=$(printf '%s\n' "${n[@]}" | median)
    awk -v t="$name" -v o="$om" -v n="$nm" 'BEGIN {printf "| %s | %.0f | %.0f | %.2fx |\n", t, o, n, (o > 0 ? n / o : 0)}'
  done
  echo
  cleanup
done
