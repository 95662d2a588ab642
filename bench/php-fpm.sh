#!/usr/bin/env bash
# A PHP-FPM "hello" page through three front ends sharing ONE php-fpm pool (Debian's
# php-fpm, pm = static): rhttpd (event MPM, mod_proxy_fcgi over the pool's Unix socket),
# Apache httpd (event MPM + mod_proxy_fcgi, the same SetHandler line) and nginx
# (fastcgi_pass to the same socket). wrk -t2 -c20 in interleaved rounds; req/s and p99.
#
#   bash bench/php-fpm.sh                       # 3 rounds x 10 s per server (~2 min)
#   ROUNDS=1 DUR=3s bash bench/php-fpm.sh       # quick
#   REUSE=1 bash bench/php-fpm.sh               # kept backend connections: enablereuse=on
#                                               # (rhttpd, Apache), keepalive + fastcgi_keep_conn
#                                               # (nginx); php-fpm gets 96 children, since each
#                                               # kept connection holds one
#
# Everything on 127.0.0.1; every load run bounded by wrk -d and a timeout; only the
# processes started here are stopped (by pid). Results: $OUT/php-fpm.md (and printed).
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
ROUNDS=${ROUNDS:-3}
DUR=${DUR:-10s}
CONNS=${CONNS:-20}
REUSE=${REUSE:-0}
if [ "$REUSE" = 1 ]; then CHILDREN=${CHILDREN:-96}; else CHILDREN=${CHILDREN:-8}; fi
PORT_BASE=${PORT_BASE:-28280}
WORK=${WORK:-/tmp/rhttpd-phpbench}
OUT=${OUT:-$WORK/results-$(date +%Y%m%d-%H%M%S)}
MODS=/usr/lib/apache2/modules

need=()
command -v wrk >/dev/null || need+=(wrk)
command -v nginx >/dev/null || need+=(nginx)
command -v apache2 >/dev/null || need+=(apache2)
ls /usr/sbin/php-fpm* >/dev/null 2>&1 || need+=(php-fpm)
if [ ${#need[@]} -gt 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
FPM=$(ls /usr/sbin/php-fpm* | head -1)
[ "${BUILD:-1}" = 1 ] && (cd "$ROOT" && cargo build --release -q)
RHTTPD=${RHTTPD:-$ROOT/target/release/rhttpd}

rm -rf "$WORK/run" && mkdir -p "$WORK/run" "$WORK/docroot" "$OUT"
chmod 755 "$WORK" "$WORK/run" "$WORK/docroot"
DOC=$WORK/docroot
SOCK=$WORK/run/php.sock
printf '<?php\necho "Hello, world\\n";\n' > "$DOC/hello.php"
chmod 644 "$DOC/hello.php"

cat > "$WORK/run/php-fpm.conf" <<EOF
[global]
pid = $WORK/run/php-fpm.pid
error_log = $WORK/run/php-fpm.log
daemonize = no
[bench]
user = www-data
group = www-data
listen = $SOCK
listen.owner = www-data
listen.group = www-data
listen.mode = 0666
pm = static
pm.max_children = $CHILDREN
EOF

REUSE_SECTION=
NGINX_UPSTREAM=
NGINX_PASS="fastcgi_pass unix:$SOCK;"
if [ "$REUSE" = 1 ]; then
    REUSE_SECTION='<Proxy "fcgi://localhost/" enablereuse=on>
</Proxy>
'
    NGINX_UPSTREAM="upstream fpm { server unix:$SOCK; keepalive 32; }"
    NGINX_PASS="fastcgi_keep_conn on; fastcgi_pass fpm;"
fi

cat > "$WORK/run/rhttpd.conf" <<EOF
ServerRoot "$WORK/run"
PidFile "$WORK/run/rhttpd.pid"
ErrorLog "$WORK/run/rhttpd-error.log"
LogLevel warn
LoadModule mpm_event_module x
LoadModule proxy_module x
LoadModule proxy_fcgi_module x
TypesConfig /etc/mime.types
User www-data
Group www-data
ServerName 127.0.0.1
Listen 127.0.0.1:$PORT_BASE
KeepAlive On
MaxKeepAliveRequests 0
KeepAliveTimeout 5
DocumentRoot "$DOC"
<Directory "$DOC">
    Require all granted
</Directory>
$REUSE_SECTION<FilesMatch \.php$>
    SetHandler "proxy:unix:$SOCK|fcgi://localhost/"
</FilesMatch>
StartServers 2
ServerLimit 16
ThreadsPerChild 25
MinSpareThreads 25
MaxSpareThreads 75
MaxRequestWorkers 400
EOF

cat > "$WORK/run/apache.conf" <<EOF
ServerRoot "$WORK/run"
DefaultRuntimeDir "$WORK/run"
PidFile "$WORK/run/apache.pid"
ErrorLog "$WORK/run/apache-error.log"
LogLevel warn
LoadModule mpm_event_module $MODS/mod_mpm_event.so
LoadModule authz_core_module $MODS/mod_authz_core.so
LoadModule mime_module $MODS/mod_mime.so
LoadModule proxy_module $MODS/mod_proxy.so
LoadModule proxy_fcgi_module $MODS/mod_proxy_fcgi.so
TypesConfig /etc/mime.types
User www-data
Group www-data
ServerName 127.0.0.1
Listen 127.0.0.1:$((PORT_BASE + 1))
KeepAlive On
MaxKeepAliveRequests 0
KeepAliveTimeout 5
DocumentRoot "$DOC"
<Directory "$DOC">
    Require all granted
</Directory>
$REUSE_SECTION<FilesMatch \.php$>
    SetHandler "proxy:unix:$SOCK|fcgi://localhost/"
</FilesMatch>
StartServers 2
ServerLimit 16
ThreadsPerChild 25
MinSpareThreads 25
MaxSpareThreads 75
MaxRequestWorkers 400
EOF

cat > "$WORK/run/nginx.conf" <<EOF
daemon off;
worker_processes 2;
user www-data;
pid $WORK/run/nginx.pid;
error_log $WORK/run/nginx-error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    keepalive_timeout 5;
    keepalive_requests 1000000;
    $NGINX_UPSTREAM
    server {
        listen 127.0.0.1:$((PORT_BASE + 2));
        root $DOC;
        location ~ \.php$ {
            include /etc/nginx/fastcgi_params;
            fastcgi_param SCRIPT_FILENAME \$document_root\$fastcgi_script_name;
            $NGINX_PASS
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

"$FPM" -F -y "$WORK/run/php-fpm.conf" -p "$WORK/run" >"$WORK/run/php-fpm.out" 2>&1 &
PIDS+=($!)
# The front ends mark a backend that refuses them as down for 60 s (retry=): start them
# only once the pool's socket exists.
for _ in $(seq 1 100); do [ -S "$SOCK" ] && break; sleep 0.1; done
[ -S "$SOCK" ] || { echo "php-fpm did not create $SOCK" >&2; exit 1; }
"$RHTTPD" -f "$WORK/run/rhttpd.conf" -D FOREGROUND >"$WORK/run/rhttpd.out" 2>&1 &
PIDS+=($!)
apache2 -f "$WORK/run/apache.conf" -DFOREGROUND >"$WORK/run/apache.out" 2>&1 &
PIDS+=($!)
nginx -c "$WORK/run/nginx.conf" >"$WORK/run/nginx.out" 2>&1 &
PIDS+=($!)

names=(rhttpd-event apache-event nginx)
for i in 0 1 2; do
    url="http://127.0.0.1:$((PORT_BASE + i))/hello.php"
    ok=0
    for _ in $(seq 1 100); do
        if [ "$(curl -s --max-time 2 "$url")" = "Hello, world" ]; then ok=1; break; fi
        sleep 0.2
    done
    [ $ok = 1 ] || { echo "${names[$i]} does not serve $url" >&2; exit 1; }
done
# warm-up
for i in 0 1 2; do timeout 20 wrk -t2 -c$CONNS -d2s "http://127.0.0.1:$((PORT_BASE + i))/hello.php" >/dev/null 2>&1; done

declare -A RPS P99
for r in $(seq 1 "$ROUNDS"); do
    for k in 0 1 2; do
        i=$(( (k + r) % 3 ))
        res=$(timeout 60 wrk -t2 -c"$CONNS" -d"$DUR" --latency "http://127.0.0.1:$((PORT_BASE + i))/hello.php" 2>&1)
        rps=$(echo "$res" | awk '/Requests\/sec/ {print $2}')
        p99=$(echo "$res" | awk '$1 == "99%" {print $2}')
        errs=$(echo "$res" | awk '/Non-2xx|Socket errors/ {print}' | tr '\n' ' ')
        RPS[${names[$i]}]+="$rps "
        P99[${names[$i]}]+="$p99 "
        echo "round $r ${names[$i]}: $rps req/s, p99 $p99 $errs"
    done
done

median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
{
    echo "PHP-FPM hello page (\`hello.php\`), one shared php-fpm pool (pm static, $CHILDREN children, Unix socket$([ "$REUSE" = 1 ] && echo ', backend connections kept')), wrk -t2 -c$CONNS, $ROUNDS interleaved rounds of $DUR; medians. $(date -u +%Y-%m-%d), $(nproc) cores, $("$FPM" -v | head -1 | cut -d' ' -f1-2)."
    echo
    echo "| front end | req/s (median) | p99 (median) | all rounds req/s |"
    echo "|---|---|---|---|"
    for n in "${names[@]}"; do
        echo "| $n | $(echo "${RPS[$n]}" | median) | $(echo "${P99[$n]}" | tr ' ' '\n' | grep -v '^$' | sed 's/ms$//' | awk '/us$/ {sub(/us$/,""); print $1/1000; next} /s$/ {sub(/s$/,""); print $1*1000; next} {print}' | median)ms | ${RPS[$n]}|"
    done
} | tee "$OUT/php-fpm.md"
