#!/usr/bin/env bash
# The event MPM's sizing (issue #17 point 6): the same rhttpd build and the shared
# benchmark site (configs/httpd-common.conf) under several ServerLimit / ThreadsPerChild
# settings, with h2o as the reference, all up at once and measured in interleaved rounds.
#
#   default      no MPM directive at all: what a fresh install runs (Apache's event
#                defaults: StartServers 3, ThreadsPerChild 25, MaxRequestWorkers 400)
#   bench-16x64  bench/run.sh's event block (16 children x 64 threads, all started)
#   4x25, 2x64, 1x64, 1x25   fewer children (each child has one listener thread)
#
# Tests: 1 KiB keep-alive c50 and c256, 1 KiB Connection: close c50 (wrk -t2). Reported:
# req/s median over rounds, server CPU µs per request, processes/threads, PSS.
#
#   bash bench/sizing.sh                    # 3 rounds x 5 s (~6 min)
#   ROUNDS=1 DUR=2s bash bench/sizing.sh    # quick
#
# Everything on 127.0.0.1; every wrk run bounded by -d and a timeout; only the processes
# started here are stopped (by pid). Results: $OUT/sizing.md (and printed).
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
ROUNDS=${ROUNDS:-3}
DUR=${DUR:-5s}
PORT_BASE=${PORT_BASE:-28480}
WORK=${WORK:-/tmp/rhttpd-sizingbench}
OUT=${OUT:-$WORK/results-$(date +%Y%m%d-%H%M%S)}
RHTTPD=${RHTTPD:-$ROOT/target/release/rhttpd}
MODS=/usr/lib/apache2/modules
PY=${PYTHON:-python3}

need=()
command -v wrk >/dev/null || need+=(wrk)
command -v h2o >/dev/null || need+=(h2o)
if [ ${#need[@]} -gt 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
if [ "${BUILD:-1}" = 1 ]; then (cd "$ROOT" && cargo build --release -q) || exit 1; fi
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
mkdir -p "$WORK/run" "$OUT"
DOCROOT=$WORK/docroot
"$PY" "$HERE/benchlib.py" docroot "$DOCROOT"

NAMES=(default bench-16x64 4x25 2x64 1x64 1x25)
sizing() {
    case $1 in
        default) ;;
        bench-16x64) printf '%s\n' "StartServers 16" "ServerLimit 16" "ThreadLimit 64" "ThreadsPerChild 64" \
            "MaxRequestWorkers 1024" "MinSpareThreads 64" "MaxSpareThreads 1024" "AsyncRequestWorkerFactor 16" ;;
        *x*) local n=${1%x*} t=${1#*x}
            printf '%s\n' "StartServers $n" "ServerLimit $n" "ThreadLimit $t" "ThreadsPerChild $t" \
                "MaxRequestWorkers $((n * t))" "MinSpareThreads 1" "MaxSpareThreads $((n * t))" ;;
    esac
}

declare -A PID PORT
cleanup() {
    for p in "${PID[@]}"; do kill -TERM "$p" 2>/dev/null; done
    sleep 1
    for p in "${PID[@]}"; do kill -KILL "$p" 2>/dev/null; done
}
trap cleanup EXIT

i=0
for n in "${NAMES[@]}"; do
    port=$((PORT_BASE + i)); i=$((i + 1))
    run=$WORK/run/$n
    rm -rf "$run"; mkdir -p "$run"; chown www-data:www-data "$run" 2>/dev/null; chmod 755 "$run"
    { echo "LoadModule mpm_event_module x"; echo "Include $HERE/configs/httpd-common.conf"; sizing "$n"; } >"$run/rhttpd.conf"
    setsid "$RHTTPD" -f "$run/rhttpd.conf" -D FOREGROUND -D BENCH_NO_CGI -C "ServerRoot $run" \
        -C "Define BENCH_PORT $port" -C "Define BENCH_RUN $run" -C "Define BENCH_DOCROOT $DOCROOT" \
        -C "Define BENCH_CGI $run" -C "Define BENCH_KA 5" -C "Define BENCH_MODS $MODS" \
        -C "Define BENCH_CONFIGS $HERE/configs" >"$run/out.log" 2>&1 </dev/null &
    PID[$n]=$!; PORT[$n]=$port
done
n=h2o; port=$((PORT_BASE + i)); run=$WORK/run/h2o
rm -rf "$run"; mkdir -p "$run"; chown www-data:www-data "$run" 2>/dev/null; chmod 755 "$run"
sed -e "s#@PORT@#$port#g" -e "s#@RUN@#$run#g" -e "s#@DOCROOT@#$DOCROOT#g" -e "s#@KA@#5#g" -e "s#@CGI@#$run#g" -e "s#@NAME@#h2o#g" \
    "$HERE/configs/h2o.conf" >"$run/h2o.conf"
setsid h2o -c "$run/h2o.conf" >"$run/out.log" 2>&1 </dev/null &
PID[h2o]=$!; PORT[h2o]=$port
NAMES+=(h2o)

for n in "${NAMES[@]}"; do
    ok=0
    for _ in $(seq 1 100); do
        [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://127.0.0.1:${PORT[$n]}/index.html")" = 200 ] && { ok=1; break; }
        sleep 0.2
    done
    [ $ok = 1 ] || { echo "$n did not start: $(tail -3 "$WORK/run/$n/out.log")" >&2; exit 1; }
done

# A server's processes: the one started and its children.
tree() { echo "$1"; pgrep -P "$1"; }
# CPU ticks (utime + stime) of a server's processes, all their threads included.
ticks() {
    local s=0 p
    for p in $(tree "$1"); do
        [ -r "/proc/$p/stat" ] && s=$((s + $(awk '{print $14 + $15}' "/proc/$p/stat")))
    done
    echo "$s"
}
TESTS=(ka_c50 ka_c256 close_c50)
declare -A RPS CPU
for r in $(seq 1 "$ROUNDS"); do
    for t in "${TESTS[@]}"; do
        k=0
        for _ in "${NAMES[@]}"; do
            n=${NAMES[$(( (k + r) % ${#NAMES[@]} ))]}; k=$((k + 1))
            url="http://127.0.0.1:${PORT[$n]}/index.html"
            case $t in
                ka_c50) args=(-c50) ;;
                ka_c256) args=(-c256) ;;
                close_c50) args=(-c50 -H "Connection: close") ;;
            esac
            a=$(ticks "${PID[$n]}")
            res=$(timeout 60 wrk -t2 "${args[@]}" -d"$DUR" "$url" 2>&1)
            b=$(ticks "${PID[$n]}")
            rps=$(echo "$res" | awk '/Requests\/sec/ {print $2}')
            reqs=$(echo "$res" | awk '/requests in/ {print $1}')
            cpu=$(awk -v t=$((b - a)) -v q="${reqs:-0}" 'BEGIN { if (q > 0) printf "%.1f", t * 10000 / q; else print "-" }')
            RPS[$n,$t]+="$rps "; CPU[$n,$t]+="$cpu "
            echo "round $r $t $n: $rps req/s, $cpu µs/req"
        done
    done
done

median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{a[NR]=$1} END {if (NR) print a[int((NR+1)/2)]; else print "-"}'; }
pss() {
    local s=0 p v
    for p in $(tree "$1"); do
        v=$(awk '/^Pss:/ {print $2}' "/proc/$p/smaps_rollup" 2>/dev/null); s=$((s + ${v:-0}))
    done
    echo "$((s / 1024))"
}
{
    echo "rhttpd event under several sizings, h2o for reference; wrk -t2, 1 KiB file, $ROUNDS interleaved rounds of $DUR, medians; $(date -u +%Y-%m-%d), $(nproc) cores, $(git -C "$ROOT" rev-parse --short HEAD)."
    echo
    echo "| server | processes / threads | PSS | ka c50 req/s | µs/req | ka c256 req/s | µs/req | close c50 req/s | µs/req |"
    echo "|---|---|---|---|---|---|---|---|---|"
    for n in "${NAMES[@]}"; do
        procs=$(tree "${PID[$n]}" | wc -l)
        threads=$(for p in $(tree "${PID[$n]}"); do awk '/^Threads:/ {print $2}' "/proc/$p/status"; done | awk '{s += $1} END {print s}')
        row="| $n | $procs / $threads | $(pss "${PID[$n]}") MiB"
        for t in "${TESTS[@]}"; do
            row+=" | $(echo "${RPS[$n,$t]}" | median) | $(echo "${CPU[$n,$t]}" | median)"
        done
        echo "$row |"
    done
} | tee "$OUT/sizing.md"
