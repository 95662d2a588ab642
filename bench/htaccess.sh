#!/usr/bin/env bash
# .htaccess and mod_rewrite cost (issue #14): a WordPress-style site installed two levels
# down (docroot/sites/blog/) with WordPress's front-controller .htaccess there and a
# harmless one at the document root, served with `AllowOverride All` by rhttpd and by
# Apache httpd (the same MPM, event unless MPM=worker|prefork), plus rhttpd with
# `AllowOverride None` for the static file. Two requests:
#   pretty:  /sites/blog/2026/12/01/hello/      rewritten to the front controller
#   static:  /sites/blog/wp-content/themes/x/style.css (2 KiB)
# The front controller `index.php` is a plain file served without a PHP handler, so the
# figures are the server's own work: the .htaccess walk, the rewrite and the file.
# wrk -t2 -cCONNS in interleaved rounds: req/s and p99. Then the syscall cost: each
# server in one-process mode (-X) under `strace -f -c` for N keep-alive requests of each
# kind (ab -k): file-system calls per request and the failed ones, for rhttpd (All and
# None) and Apache (All).
#
#   bash bench/htaccess.sh                        # 3 rounds x 10 s per server and request
#   ROUNDS=1 DUR=3s N=100 bash bench/htaccess.sh  # quick
#
# Everything on 127.0.0.1; every load run bounded by wrk -d and a timeout; only the
# processes started here are stopped (by pid). Results: $OUT/htaccess.md (and printed).
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
ROUNDS=${ROUNDS:-3}
DUR=${DUR:-10s}
CONNS=${CONNS:-50}
N=${N:-500}
MPM=${MPM:-event}
PORT_BASE=${PORT_BASE:-28380}
WORK=${WORK:-/tmp/rhttpd-htbench}
OUT=${OUT:-$WORK/results-$(date +%Y%m%d-%H%M%S)}
MODS=/usr/lib/apache2/modules

need=()
command -v wrk >/dev/null || need+=(wrk)
command -v apache2 >/dev/null || need+=(apache2)
command -v ab >/dev/null || need+=(apache2-utils)
command -v strace >/dev/null || need+=(strace)
if [ ${#need[@]} -gt 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
[ "${BUILD:-1}" = 1 ] && (cd "$ROOT" && cargo build --release -q)
RHTTPD=${RHTTPD:-$ROOT/target/release/rhttpd}

rm -rf "$WORK/run" "$WORK/docroot" && mkdir -p "$WORK/run" "$OUT"
DOC=$WORK/docroot
BLOG=$DOC/sites/blog
mkdir -p "$BLOG/wp-content/themes/x"
chmod -R 755 "$WORK"
printf 'Options -Indexes\n<IfModule mod_headers.c>\nHeader set X-Frame-Options SAMEORIGIN\n</IfModule>\n' >"$DOC/.htaccess"
cat >"$BLOG/.htaccess" <<'EOF'
# BEGIN WordPress
<IfModule mod_rewrite.c>
RewriteEngine On
RewriteRule .* - [E=HTTP_AUTHORIZATION:%{HTTP:Authorization}]
RewriteBase /sites/blog/
RewriteRule ^index\.php$ - [L]
RewriteCond %{REQUEST_FILENAME} !-f
RewriteCond %{REQUEST_FILENAME} !-d
RewriteRule . /sites/blog/index.php [L]
</IfModule>
# END WordPress
EOF
echo "front controller" >"$BLOG/index.php"
head -c 2048 /dev/zero | tr '\0' 'a' >"$BLOG/wp-content/themes/x/style.css"
chmod -R a+rX "$DOC"
PRETTY=/sites/blog/2026/12/01/hello/
STATIC=/sites/blog/wp-content/themes/x/style.css

case $MPM in
event) SIZING="StartServers 2
ServerLimit 16
ThreadsPerChild 25
MinSpareThreads 25
MaxSpareThreads 75
MaxRequestWorkers 400" ;;
worker) SIZING="StartServers 2
ServerLimit 16
ThreadsPerChild 25
MinSpareThreads 25
MaxSpareThreads 75
MaxRequestWorkers 400" ;;
prefork) SIZING="StartServers 8
MinSpareServers 8
MaxSpareServers 16
MaxRequestWorkers 64" ;;
*) echo "MPM must be event, worker or prefork" >&2; exit 1 ;;
esac

# One configuration text for both servers (rhttpd reads Apache's LoadModule lines and
# ignores the paths of modules it has); $1 name, $2 port, $3 AllowOverride.
conf() {
    cat <<EOF
ServerRoot "$WORK/run"
DefaultRuntimeDir "$WORK/run"
PidFile "$WORK/run/$1.pid"
ErrorLog "$WORK/run/$1-error.log"
LogLevel warn
LoadModule mpm_${MPM}_module $MODS/mod_mpm_${MPM}.so
LoadModule authz_core_module $MODS/mod_authz_core.so
LoadModule mime_module $MODS/mod_mime.so
LoadModule dir_module $MODS/mod_dir.so
LoadModule rewrite_module $MODS/mod_rewrite.so
TypesConfig /etc/mime.types
User www-data
Group www-data
ServerName 127.0.0.1
Listen 127.0.0.1:$2
KeepAlive On
MaxKeepAliveRequests 0
KeepAliveTimeout 5
DocumentRoot "$DOC"
<Directory />
    AllowOverride None
    Require all denied
</Directory>
<Directory "$DOC">
    Options FollowSymLinks
    AllowOverride $3
    Require all granted
</Directory>
$SIZING
EOF
}

PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done
    sleep 1
    for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null; done
}
trap cleanup EXIT

names=("rhttpd-$MPM" "apache-$MPM" "rhttpd-$MPM-None")
conf "${names[0]}" "$PORT_BASE" All >"$WORK/run/rhttpd.conf"
conf "${names[1]}" "$((PORT_BASE + 1))" All >"$WORK/run/apache.conf"
conf "${names[2]}" "$((PORT_BASE + 2))" None >"$WORK/run/rhttpd-none.conf"
"$RHTTPD" -f "$WORK/run/rhttpd.conf" -D FOREGROUND >"$WORK/run/rhttpd.out" 2>&1 &
PIDS+=($!)
apache2 -f "$WORK/run/apache.conf" -DFOREGROUND >"$WORK/run/apache.out" 2>&1 &
PIDS+=($!)
"$RHTTPD" -f "$WORK/run/rhttpd-none.conf" -D FOREGROUND >"$WORK/run/rhttpd-none.out" 2>&1 &
PIDS+=($!)

for i in 0 1 2; do
    url="http://127.0.0.1:$((PORT_BASE + i))$STATIC"
    ok=0
    for _ in $(seq 1 100); do
        if [ "$(curl -s --max-time 2 -o /dev/null -w '%{http_code}' "$url")" = 200 ]; then ok=1; break; fi
        sleep 0.2
    done
    [ $ok = 1 ] || { echo "${names[$i]} does not serve $url" >&2; exit 1; }
done
for i in 0 1; do
    got=$(curl -s --max-time 2 "http://127.0.0.1:$((PORT_BASE + i))$PRETTY")
    [ "$got" = "front controller" ] || { echo "${names[$i]}: $PRETTY gave '$got'" >&2; exit 1; }
done

declare -A RPS P99
run_load() { # $1 server index, $2 path, $3 key
    local res rps p99
    res=$(timeout 60 wrk -t2 -c"$CONNS" -d"$DUR" --latency "http://127.0.0.1:$((PORT_BASE + $1))$2" 2>&1)
    rps=$(echo "$res" | awk '/Requests\/sec/ {print $2}')
    p99=$(echo "$res" | awk '$1 == "99%" {print $2}')
    errs=$(echo "$res" | awk '/Non-2xx|Socket errors/ {print}' | tr '\n' ' ')
    RPS[$3]+="$rps "
    P99[$3]+="$p99 "
    echo "round $r $3: $rps req/s, p99 $p99 $errs"
}
for i in 0 1 2; do timeout 20 wrk -t2 -c"$CONNS" -d2s "http://127.0.0.1:$((PORT_BASE + i))$STATIC" >/dev/null 2>&1; done
for r in $(seq 1 "$ROUNDS"); do
    for k in 0 1; do
        i=$(( (k + r) % 2 ))
        run_load "$i" "$PRETTY" "${names[$i]} pretty"
        run_load "$i" "$STATIC" "${names[$i]} static"
    done
    run_load 2 "$STATIC" "${names[2]} static"
done
cleanup
PIDS=()

median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

# Syscalls: one process (-X), N keep-alive requests of each kind, strace -c over the
# server only. $1 label, $2 program, $3 config, $4 port.
declare -A SYS
strace_run() {
    local label=$1 prog=$2 cfg=$3 port=$4 path kind
    for kind in pretty static; do
        [ "$kind" = pretty ] && path=$PRETTY || path=$STATIC
        [ "$label" = "${names[2]}" ] && [ "$kind" = pretty ] && continue
        sed "s/^Listen .*/Listen 127.0.0.1:$port/" "$cfg" >"$WORK/run/strace.conf"
        "$prog" -f "$WORK/run/strace.conf" -X >/dev/null 2>&1 &
        local pid=$!
        for _ in $(seq 1 100); do curl -s --max-time 1 -o /dev/null "http://127.0.0.1:$port$STATIC" && break; sleep 0.1; done
        # Warm caches (the .htaccess cache, the open-file cache) before counting.
        timeout 30 ab -q -k -n 20 -c 1 "http://127.0.0.1:$port$path" >/dev/null 2>&1
        timeout 120 strace -f -c -e trace=%file,%desc -o "$WORK/run/strace-$label-$kind.txt" -p "$pid" 2>/dev/null &
        local st=$!
        sleep 1
        timeout 60 ab -q -k -n "$N" -c 1 "http://127.0.0.1:$port$path" >/dev/null 2>&1
        kill -INT "$st" 2>/dev/null; wait "$st" 2>/dev/null
        kill -TERM "$pid" 2>/dev/null; sleep 0.5; kill -KILL "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
        # File-system calls (stat family, open, access, readlink) and their failures.
        SYS[$label $kind]=$(awk -v n="$N" '
            $NF ~ /^(stat|lstat|fstat|newfstatat|statx|open|openat|access|faccessat|faccessat2|readlink|readlinkat)$/ {
                calls = $4; errs = (NF == 6) ? $5 : 0
                c += calls; e += errs
                what = what sprintf("%s %.2f%s, ", $NF, calls / n, errs ? sprintf(" (%.2f failed)", errs / n) : "")
            }
            END { sub(/, $/, "", what); printf "%.2f|%.2f|%s", c / n, e / n, what }' "$WORK/run/strace-$label-$kind.txt")
    done
}
strace_run "${names[0]}" "$RHTTPD" "$WORK/run/rhttpd.conf" $((PORT_BASE + 3))
strace_run "${names[1]}" apache2 "$WORK/run/apache.conf" $((PORT_BASE + 4))
strace_run "${names[2]}" "$RHTTPD" "$WORK/run/rhttpd-none.conf" $((PORT_BASE + 5))

{
    echo "WordPress-style site two levels down (\`.htaccess\` at the document root and in \`sites/blog/\`), \`AllowOverride All\`, $MPM MPM, wrk -t2 -c$CONNS, $ROUNDS interleaved rounds of $DUR; medians. $(date -u +%Y-%m-%d), $(nproc) cores, $(apache2 -v | head -1 | cut -d' ' -f3)."
    echo
    echo "| server | request | req/s (median) | p99 (median) | all rounds req/s |"
    echo "|---|---|---|---|---|"
    for key in "${names[0]} pretty" "${names[1]} pretty" "${names[0]} static" "${names[1]} static" "${names[2]} static"; do
        s=${key% *} k=${key##* }
        echo "| $s | $k | $(echo "${RPS[$key]}" | median) | $(echo "${P99[$key]}" | median) | ${RPS[$key]}|"
    done
    echo
    for k in pretty static; do
        a=$(echo "${RPS[${names[0]} $k]}" | median) b=$(echo "${RPS[${names[1]} $k]}" | median)
        echo "- $k: rhttpd / Apache = $(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')×"
    done
    echo
    echo "File-system calls per request (strace -f -c, one process, $N keep-alive requests after 20 warm-up ones):"
    echo
    echo "| server | request | calls | failed | by call |"
    echo "|---|---|---|---|---|"
    for key in "${names[0]} pretty" "${names[1]} pretty" "${names[0]} static" "${names[1]} static" "${names[2]} static"; do
        IFS='|' read -r c e what <<<"${SYS[$key]:-0|0|}"
        echo "| ${key% *} | ${key##* } | $c | $e | $what |"
    done
} | tee "$OUT/htaccess.md"
