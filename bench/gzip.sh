#!/usr/bin/env bash
# Compression (issue #15): one 100 KiB HTML file sent gzip-compressed at level 6 by rhttpd
# (event MPM, `AddOutputFilterByType DEFLATE text/html`), Apache httpd (event +
# mod_deflate, the same directives) and nginx (`gzip on; gzip_comp_level 6`), all up at
# once. wrk -t2 -cCONNS with `Accept-Encoding: gzip` in interleaved rounds: req/s, p99, and
# the servers' CPU per request (utime + stime of their processes over the run).
#
#   bash bench/gzip.sh                      # 3 rounds x 10 s per server
#   ROUNDS=1 DUR=3s bash bench/gzip.sh      # quick
#
# rhttpd compresses a static file once per version and sends the remembered bytes
# afterwards; Apache and nginx compress on every request (nginx's equivalent would be
# gzip_static with a .gz file made beforehand). Everything on 127.0.0.1; every load run
# bounded by wrk -d and a timeout; only the processes started here are stopped (by pid).
# Results: $OUT/gzip.md (and printed).
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
ROUNDS=${ROUNDS:-3}
DUR=${DUR:-10s}
CONNS=${CONNS:-50}
PORT_BASE=${PORT_BASE:-28480}
WORK=${WORK:-/tmp/rhttpd-gzbench}
OUT=${OUT:-$WORK/results-$(date +%Y%m%d-%H%M%S)}
MODS=/usr/lib/apache2/modules

need=()
command -v wrk >/dev/null || need+=(wrk)
command -v nginx >/dev/null || need+=(nginx)
command -v apache2 >/dev/null || need+=(apache2)
if [ ${#need[@]} -gt 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
[ "${BUILD:-1}" = 1 ] && (cd "$ROOT" && cargo build --release -q)
RHTTPD=${RHTTPD:-$ROOT/target/release/rhttpd}

rm -rf "$WORK/run" "$WORK/docroot" && mkdir -p "$WORK/run" "$WORK/docroot" "$OUT"
chmod 755 "$WORK" "$WORK/run" "$WORK/docroot"
DOC=$WORK/docroot
# 100 KiB of HTML: lines of words drawn from a fixed list (deterministic, compressible
# like text, not like a run of one byte).
awk 'BEGIN {
    srand(42); split("the of and to in is that for on with as by this be are from at or an web server page text html data file request response header", w, " ");
    printf "<!DOCTYPE html>\n<html><body>\n";
    n = 0;
    while (n < 102300) { line = "<p>"; for (i = 0; i < 12; i++) line = line w[int(rand() * 26) + 1] " "; line = line "</p>\n"; printf "%s", line; n += length(line) }
    printf "</body></html>\n"
}' | head -c 102400 >"$DOC/page.html"
chmod 644 "$DOC/page.html"

common="ServerName 127.0.0.1
KeepAlive On
MaxKeepAliveRequests 0
KeepAliveTimeout 5
DocumentRoot \"$DOC\"
<Directory \"$DOC\">
    Require all granted
</Directory>
AddOutputFilterByType DEFLATE text/html
DeflateCompressionLevel 6
StartServers 2
ServerLimit 16
ThreadsPerChild 25
MinSpareThreads 25
MaxSpareThreads 75
MaxRequestWorkers 400
User www-data
Group www-data
TypesConfig /etc/mime.types"
cat >"$WORK/run/rhttpd.conf" <<EOF
ServerRoot "$WORK/run"
PidFile "$WORK/run/rhttpd.pid"
ErrorLog "$WORK/run/rhttpd-error.log"
LogLevel warn
LoadModule mpm_event_module x
LoadModule deflate_module x
LoadModule filter_module x
Listen 127.0.0.1:$PORT_BASE
$common
EOF
cat >"$WORK/run/apache.conf" <<EOF
ServerRoot "$WORK/run"
DefaultRuntimeDir "$WORK/run"
PidFile "$WORK/run/apache.pid"
ErrorLog "$WORK/run/apache-error.log"
LogLevel warn
LoadModule mpm_event_module $MODS/mod_mpm_event.so
LoadModule authz_core_module $MODS/mod_authz_core.so
LoadModule mime_module $MODS/mod_mime.so
LoadModule filter_module $MODS/mod_filter.so
LoadModule deflate_module $MODS/mod_deflate.so
Listen 127.0.0.1:$((PORT_BASE + 1))
$common
EOF
cat >"$WORK/run/nginx.conf" <<EOF
daemon off;
worker_processes 2;
user www-data;
pid $WORK/run/nginx.pid;
error_log $WORK/run/nginx-error.log warn;
events { worker_connections 4096; }
http {
    include /etc/nginx/mime.types;
    access_log off;
    keepalive_timeout 5;
    keepalive_requests 1000000;
    gzip on;
    gzip_comp_level 6;
    gzip_types text/html;
    server {
        listen 127.0.0.1:$((PORT_BASE + 2));
        root $DOC;
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
"$RHTTPD" -f "$WORK/run/rhttpd.conf" -D FOREGROUND >"$WORK/run/rhttpd.out" 2>&1 &
PIDS+=($!)
apache2 -f "$WORK/run/apache.conf" -DFOREGROUND >"$WORK/run/apache.out" 2>&1 &
PIDS+=($!)
nginx -c "$WORK/run/nginx.conf" >"$WORK/run/nginx.out" 2>&1 &
PIDS+=($!)

names=(rhttpd-event apache-event nginx)
declare -A SIZE
for i in 0 1 2; do
    url="http://127.0.0.1:$((PORT_BASE + i))/page.html"
    ok=0
    for _ in $(seq 1 100); do
        if curl -s --max-time 2 -H 'Accept-Encoding: gzip' -D - -o /dev/null "$url" | grep -qi '^content-encoding: gzip'; then ok=1; break; fi
        sleep 0.2
    done
    [ $ok = 1 ] || { echo "${names[$i]} does not gzip $url" >&2; exit 1; }
    SIZE[${names[$i]}]=$(curl -s -H 'Accept-Encoding: gzip' "$url" | wc -c)
done

# CPU (utime + stime, clock ticks) of every process of server $1 (by its leader's pid).
cpu_ticks() {
    local leader=$1 total=0 p
    for p in $leader $(pgrep -P "$leader"); do
        [ -r "/proc/$p/stat" ] || continue
        total=$((total + $(awk '{print $14 + $15}' "/proc/$p/stat")))
    done
    echo "$total"
}
hz=$(getconf CLK_TCK)
for i in 0 1 2; do timeout 20 wrk -t2 -c"$CONNS" -d2s -H 'Accept-Encoding: gzip' "http://127.0.0.1:$((PORT_BASE + i))/page.html" >/dev/null 2>&1; done

declare -A RPS P99 CPU
for r in $(seq 1 "$ROUNDS"); do
    for k in 0 1 2; do
        i=$(( (k + r) % 3 ))
        before=$(cpu_ticks "${PIDS[$i]}")
        res=$(timeout 60 wrk -t2 -c"$CONNS" -d"$DUR" --latency -H 'Accept-Encoding: gzip' "http://127.0.0.1:$((PORT_BASE + i))/page.html" 2>&1)
        after=$(cpu_ticks "${PIDS[$i]}")
        rps=$(echo "$res" | awk '/Requests\/sec/ {print $2}')
        total=$(echo "$res" | awk '/requests in/ {print $1}')
        p99=$(echo "$res" | awk '$1 == "99%" {print $2}')
        us=$(awk -v t="$((after - before))" -v hz="$hz" -v n="${total:-0}" 'BEGIN { printf "%.1f", (n > 0 ? t / hz * 1e6 / n : 0) }')
        RPS[${names[$i]}]+="$rps "
        P99[${names[$i]}]+="$p99 "
        CPU[${names[$i]}]+="$us "
        echo "round $r ${names[$i]}: $rps req/s, p99 $p99, server CPU $us µs/request"
    done
done

median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
{
    echo "100 KiB HTML file with \`Accept-Encoding: gzip\`, level 6, wrk -t2 -c$CONNS, $ROUNDS interleaved rounds of $DUR; medians. $(date -u +%Y-%m-%d), $(nproc) cores, $(apache2 -v | head -1 | cut -d' ' -f3), $(nginx -v 2>&1 | cut -d' ' -f3)."
    echo
    echo "| server | req/s (median) | p99 (median) | server CPU µs/req (median) | gzip bytes | vs nginx |"
    echo "|---|---|---|---|---|---|"
    ng=$(echo "${RPS[nginx]}" | median)
    for n in "${names[@]}"; do
        m=$(echo "${RPS[$n]}" | median)
        echo "| $n | $m | $(echo "${P99[$n]}" | median) | $(echo "${CPU[$n]}" | median) | ${SIZE[$n]} | $(awk -v a="$m" -v b="$ng" 'BEGIN { printf "%.2f×", (b > 0 ? a / b : 0) }') |"
    done
} | tee "$OUT/gzip.md"
