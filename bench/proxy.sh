#!/usr/bin/env bash
# Reverse proxy and WebSocket tunnels, three front ends on the same backends: rhttpd
# (event MPM), Apache httpd (event MPM; mod_proxy_http, mod_proxy_wstunnel) and nginx
# (proxy_pass with an upstream keepalive pool; Upgrade headers passed as nginx's docs
# show). Backends: nginx serving a 1 KiB file (keep-alive) and bench/wsload's echo server.
#
#   proxy_1k      wrk -t2 -c$CONNS keep-alive GETs of the 1 KiB file through the proxy
#   ws_echo       wsload echo: $CONNS WebSocket connections, each sending a 128-byte text
#                 message and waiting for its echo, as fast as they can
#   idle tunnels  rhttpd and nginx hold $IDLE idle WebSocket tunnels: memory per tunnel
#                 (PSS of all the front end's processes, before/after), BusyWorkers on
#                 rhttpd's scoreboard, and the echo latency of 10 more connections while
#                 they are held
#
#   bash bench/proxy.sh                       # 3 interleaved rounds x 10 s (~4 min)
#   ROUNDS=1 DUR=3 bash bench/proxy.sh        # quick
#
# Everything on 127.0.0.1; every load run bounded (wrk -d, wsload -d, timeout); only the
# processes started here are stopped (by pid). Results: $OUT/proxy.md (and printed).
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
ROUNDS=${ROUNDS:-3}
DUR=${DUR:-10}
CONNS=${CONNS:-50}
IDLE=${IDLE:-1000}
PORT_BASE=${PORT_BASE:-28380}
WORK=${WORK:-/tmp/rhttpd-proxybench}
OUT=${OUT:-$WORK/results-$(date +%Y%m%d-%H%M%S)}
MODS=/usr/lib/apache2/modules

need=()
command -v wrk >/dev/null || need+=(wrk)
command -v nginx >/dev/null || need+=(nginx)
command -v apache2 >/dev/null || need+=(apache2)
if [ ${#need[@]} -gt 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
if [ "${BUILD:-1}" = 1 ]; then
    (cd "$ROOT" && cargo build --release -q &&
        cargo build --release -q --manifest-path bench/wsload/Cargo.toml --target-dir target/wsload) || exit 1
fi
RHTTPD=$ROOT/target/release/rhttpd
WSLOAD=$ROOT/target/wsload/release/wsload
ulimit -n "$(ulimit -Hn)"

P_RH=$PORT_BASE P_AP=$((PORT_BASE + 1)) P_NG=$((PORT_BASE + 2))
P_FILES=$((PORT_BASE + 3)) P_WS=$((PORT_BASE + 4))
rm -rf "$WORK/run" && mkdir -p "$WORK/run" "$WORK/docroot/f" "$OUT"
chmod 755 "$WORK" "$WORK/run" "$WORK/docroot" "$WORK/docroot/f"
head -c 1024 /dev/urandom | base64 -w0 | head -c 1024 > "$WORK/docroot/f/1k.txt"
chmod 644 "$WORK/docroot/f/1k.txt"

SIZING="StartServers 2
ServerLimit 16
ThreadsPerChild 25
MinSpareThreads 25
MaxSpareThreads 75
MaxRequestWorkers 400"

cat > "$WORK/run/backend-nginx.conf" <<EOF
daemon off;
worker_processes 1;
pid $WORK/run/backend-nginx.pid;
error_log $WORK/run/backend-nginx-error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    keepalive_timeout 60;
    keepalive_requests 1000000;
    server {
        listen 127.0.0.1:$P_FILES;
        root $WORK/docroot;
    }
}
EOF

cat > "$WORK/run/rhttpd.conf" <<EOF
ServerRoot "$WORK/run"
PidFile "$WORK/run/rhttpd.pid"
ErrorLog "$WORK/run/rhttpd-error.log"
LogLevel warn
LoadModule mpm_event_module x
LoadModule proxy_module x
LoadModule proxy_http_module x
LoadModule proxy_wstunnel_module x
LoadModule status_module x
ServerName 127.0.0.1
Listen 127.0.0.1:$P_RH
KeepAlive On
MaxKeepAliveRequests 0
KeepAliveTimeout 5
DocumentRoot "$WORK/docroot"
ProxyPass /ws/ ws://127.0.0.1:$P_WS/
ProxyPass /f/ http://127.0.0.1:$P_FILES/f/
<Location /server-status>
    SetHandler server-status
</Location>
$SIZING
EOF

cat > "$WORK/run/apache.conf" <<EOF
ServerRoot "$WORK/run"
DefaultRuntimeDir "$WORK/run"
PidFile "$WORK/run/apache.pid"
ErrorLog "$WORK/run/apache-error.log"
LogLevel warn
LoadModule mpm_event_module $MODS/mod_mpm_event.so
LoadModule authz_core_module $MODS/mod_authz_core.so
LoadModule proxy_module $MODS/mod_proxy.so
LoadModule proxy_http_module $MODS/mod_proxy_http.so
LoadModule proxy_wstunnel_module $MODS/mod_proxy_wstunnel.so
ServerName 127.0.0.1
Listen 127.0.0.1:$P_AP
KeepAlive On
MaxKeepAliveRequests 0
KeepAliveTimeout 5
DocumentRoot "$WORK/docroot"
ProxyPass /ws/ ws://127.0.0.1:$P_WS/
ProxyPass /f/ http://127.0.0.1:$P_FILES/f/
$SIZING
EOF

cat > "$WORK/run/nginx.conf" <<EOF
daemon off;
worker_processes 2;
pid $WORK/run/nginx.pid;
error_log $WORK/run/nginx-error.log warn;
worker_rlimit_nofile 65536;
events { worker_connections 8192; }
http {
    access_log off;
    keepalive_timeout 5;
    keepalive_requests 1000000;
    upstream files { server 127.0.0.1:$P_FILES; keepalive 64; }
    server {
        listen 127.0.0.1:$P_NG;
        location /f/ {
            proxy_pass http://files;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }
        location /ws/ {
            proxy_pass http://127.0.0.1:$P_WS/;
            proxy_http_version 1.1;
            proxy_set_header Upgrade \$http_upgrade;
            proxy_set_header Connection "upgrade";
            proxy_read_timeout 300s;
        }
    }
}
EOF

PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done
    sleep 1
    for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null; done
}
trap cleanup EXIT

nginx -c "$WORK/run/backend-nginx.conf" >"$WORK/run/backend-nginx.out" 2>&1 &
PIDS+=($!)
"$WSLOAD" serve "$P_WS" >"$WORK/run/wsload-serve.out" 2>&1 &
PIDS+=($!)
for _ in $(seq 1 100); do curl -sf --max-time 1 "http://127.0.0.1:$P_FILES/f/1k.txt" >/dev/null && break; sleep 0.1; done
"$RHTTPD" -f "$WORK/run/rhttpd.conf" -D FOREGROUND >"$WORK/run/rhttpd.out" 2>&1 &
RH_PID=$!
PIDS+=($RH_PID)
apache2 -f "$WORK/run/apache.conf" -DFOREGROUND >"$WORK/run/apache.out" 2>&1 &
PIDS+=($!)
nginx -c "$WORK/run/nginx.conf" >"$WORK/run/nginx.out" 2>&1 &
NG_PID=$!
PIDS+=($NG_PID)

names=(rhttpd-event apache-event nginx)
ports=($P_RH $P_AP $P_NG)
for i in 0 1 2; do
    url="http://127.0.0.1:${ports[$i]}/f/1k.txt"
    ok=0
    for _ in $(seq 1 100); do
        if [ "$(curl -s --max-time 2 "$url" | wc -c)" = 1024 ]; then ok=1; break; fi
        sleep 0.2
    done
    [ $ok = 1 ] || { echo "${names[$i]} does not proxy $url" >&2; exit 1; }
    out=$(timeout 20 "$WSLOAD" echo -c 1 -d 1 "ws://127.0.0.1:${ports[$i]}/ws/")
    echo "$out" | grep -q '^Errors: 0' || { echo "${names[$i]}: no WebSocket echo: $out" >&2; exit 1; }
done
for i in 0 1 2; do timeout 20 wrk -t2 -c"$CONNS" -d2s "http://127.0.0.1:${ports[$i]}/f/1k.txt" >/dev/null 2>&1; done

declare -A RPS MPS WSP99 HP99
for r in $(seq 1 "$ROUNDS"); do
    for k in 0 1 2; do
        i=$(( (k + r) % 3 ))
        n=${names[$i]}
        res=$(timeout $((DUR + 30)) wrk -t2 -c"$CONNS" -d"${DUR}s" --latency "http://127.0.0.1:${ports[$i]}/f/1k.txt" 2>&1)
        rps=$(echo "$res" | awk '/Requests\/sec/ {print $2}')
        p99=$(echo "$res" | awk '$1 == "99%" {print $2}')
        errs=$(echo "$res" | awk '/Non-2xx|Socket errors/ {print}' | tr '\n' ' ')
        RPS[$n]+="$rps "
        HP99[$n]+="$p99 "
        ws=$(timeout $((DUR + 30)) "$WSLOAD" echo -c "$CONNS" -d "$DUR" -s 128 "ws://127.0.0.1:${ports[$i]}/ws/" 2>&1)
        mps=$(echo "$ws" | awk '/^Messages\/sec/ {print $2}')
        wp99=$(echo "$ws" | awk '/^Latency/ {print $4}')
        werr=$(echo "$ws" | awk '/^Errors/ {print $2}')
        MPS[$n]+="$mps "
        WSP99[$n]+="$wp99 "
        echo "round $r $n: proxy_1k $rps req/s p99 $p99 $errs| ws_echo $mps msg/s p99 ${wp99}us errors $werr"
    done
done

median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
ms() { tr ' ' '\n' | grep -v '^$' | awk '/ms$/ {sub(/ms$/,""); print; next} /us$/ {sub(/us$/,""); print $1/1000; next} /s$/ {sub(/s$/,""); print $1*1000; next} {print}'; }

# Memory of a process and its children, in KiB of PSS.
pss_tree() {
    local total=0 p v
    for p in "$1" $(pgrep -P "$1"); do
        v=$(awk '/^Pss:/ {print $2}' /proc/"$p"/smaps_rollup 2>/dev/null)
        total=$((total + ${v:-0}))
    done
    echo "$total"
}
busy() { curl -s --max-time 5 "http://127.0.0.1:$P_RH/server-status?auto" | awk -F': ' '/^BusyWorkers/ {print $2}'; }

declare -A IDLE_KIB IDLE_P99 IDLE_OPEN IDLE_BUSY IDLE_ALIVE
for i in 0 2; do
    n=${names[$i]}
    pid=$RH_PID
    [ "$i" = 2 ] && pid=$NG_PID
    sleep 1
    before=$(pss_tree "$pid")
    fifo=$WORK/run/idle.fifo
    rm -f "$fifo" && mkfifo "$fifo"
    (timeout 180 "$WSLOAD" idle -n "$IDLE" -e 10 -d 5 "ws://127.0.0.1:${ports[$i]}/ws/" <"$fifo" >"$WORK/run/idle-$n.out" 2>&1) &
    idle_pid=$!
    exec 9>"$fifo"
    for _ in $(seq 1 600); do grep -q '^Holding' "$WORK/run/idle-$n.out" && break; sleep 0.2; done
    sleep 1
    after=$(pss_tree "$pid")
    IDLE_BUSY[$n]=-
    [ "$i" = 0 ] && IDLE_BUSY[$n]=$(busy)
    open=$(awk '/^Open:/ {print $2}' "$WORK/run/idle-$n.out")
    IDLE_OPEN[$n]=$open
    IDLE_ALIVE[$n]=$(awk '/^Held still echoing/ {print $4}' "$WORK/run/idle-$n.out")
    IDLE_KIB[$n]=$(awk -v a="$after" -v b="$before" -v n="${open:-0}" 'BEGIN { if (n > 0) printf "%.1f", (a - b) / n; else print "-" }')
    IDLE_P99[$n]=$(awk '/^Latency/ {print $4}' "$WORK/run/idle-$n.out")
    echo "idle $n: $(tr '\n' ' ' <"$WORK/run/idle-$n.out") PSS ${before} -> ${after} KiB, BusyWorkers ${IDLE_BUSY[$n]}"
    echo >&9
    exec 9>&-
    wait "$idle_pid" 2>/dev/null
done

{
    echo "Reverse proxy (1 KiB file from an nginx backend, keep-alive both sides) and WebSocket echo (128-byte text messages to bench/wsload's echo server) through three front ends, $CONNS connections, $ROUNDS interleaved rounds of ${DUR} s; medians. $(date -u +%Y-%m-%d), $(nproc) cores, $(apache2 -v | head -1 | cut -d' ' -f3), $(nginx -v 2>&1 | cut -d' ' -f3)."
    echo
    echo "| front end | proxy 1 KiB req/s | p99 | WebSocket echo msg/s | p99 | all rounds (req/s; msg/s) |"
    echo "|---|---|---|---|---|---|"
    for n in "${names[@]}"; do
        echo "| $n | $(echo "${RPS[$n]}" | median) | $(echo "${HP99[$n]}" | ms | median) ms | $(echo "${MPS[$n]}" | median) | $(echo "${WSP99[$n]}" | median) us | ${RPS[$n]}; ${MPS[$n]}|"
    done
    echo
    echo "$IDLE idle WebSocket tunnels held (PSS: all processes of the front end, before and after, divided by the tunnels; client and backend not counted):"
    echo
    echo "| front end | tunnels open | still echoing after | PSS per tunnel | BusyWorkers while held | echo p99 of 10 more connections while held |"
    echo "|---|---|---|---|---|---|"
    for i in 0 2; do
        n=${names[$i]}
        echo "| $n | ${IDLE_OPEN[$n]} | ${IDLE_ALIVE[$n]} | ${IDLE_KIB[$n]} KiB | ${IDLE_BUSY[$n]} | ${IDLE_P99[$n]} us |"
    done
} | tee "$OUT/proxy.md"
