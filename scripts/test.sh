#!/usr/bin/env bash
# The whole test suite on a fresh machine: installs what the tests use (real peers,
# not mocks), then runs every unit, property and end-to-end test of the workspace, and
# fails if any process the tests started is still running afterwards.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v curl >/dev/null 2>&1 || need+=(curl)
# TLS tests make their keys and certificates with the openssl CLI and use s_client.
command -v openssl >/dev/null 2>&1 || need+=(openssl)
# A browser over HTTPS (tests/e2e_tls_clients.rs).
command -v chromium >/dev/null 2>&1 || need+=(chromium)
# HTTP/2 clients (tests/e2e_h2_*.rs): nghttp for concurrent streams, h2load for load.
# Debian's stock /etc/apache2 is started by tests/e2e_debian.rs.
[ -f /etc/apache2/apache2.conf ] || need+=(apache2)
# htpasswd makes the password files of the authentication tests (tests/e2e_auth.rs).
command -v htpasswd >/dev/null 2>&1 || need+=(apache2-utils)
command -v nghttp >/dev/null 2>&1 && command -v h2load >/dev/null 2>&1 || need+=(nghttp2-client)
command -v prometheus-apache-exporter >/dev/null 2>&1 || need+=(prometheus-apache-exporter)
# Real peers of the dynamic-content tests (tests/e2e_dynamic.rs): an upstream HTTP
# server for mod_proxy_http and PHP-FPM for mod_proxy_fcgi.
[ -x /usr/sbin/nginx ] || command -v nginx >/dev/null 2>&1 || need+=(nginx)
compgen -G '/usr/sbin/php-fpm*' >/dev/null || need+=(php-fpm)
# The balancer members of tests/e2e_balancer.rs and the backends of the reverse-proxy
# feature tests (tests/e2e_proxy_features.rs) are small python3 servers; ss shows a
# backend socket's keep-alive timer, gzip and sha256sum check bodies.
command -v python3 >/dev/null 2>&1 || need+=(python3)
command -v ss >/dev/null 2>&1 || need+=(iproute2)
command -v gzip >/dev/null 2>&1 || need+=(gzip)
# WordPress with MariaDB behind PHP-FPM (tests/e2e_wordpress.rs); never mod_php, so the
# Apache reference run uses PHP-FPM through mod_proxy_fcgi as rhttpd does.
[ -f /usr/share/wordpress/wp-settings.php ] || need+=(wordpress wordpress-theme-twentytwentythree)
[ -x /usr/sbin/mariadbd ] || need+=(mariadb-server)
compgen -G '/etc/php/*/fpm/conf.d/*mysqli.ini' >/dev/null || need+=(php-mysql)
if [ ${#need[@]} -gt 0 ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "scripts/test.sh: installing ${need[*]}"
        apt-get update -qq
        # wordpress depends on "libapache2-mod-php | php": forbid every mod_php package
        # (the versioned ones too, which provide the first alternative) so apt takes php.
        no_mod_php=$(apt-cache pkgnames libapache2-mod-php | sed 's/$/-/')
        # shellcheck disable=SC2086
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" $no_mod_php >/dev/null
    else
        echo "scripts/test.sh: missing ${need[*]} (install them, or run as root with apt-get)" >&2
        exit 1
    fi
fi

# The WebSocket tests (tests/e2e_websocket.rs) use the Python `websockets` package as
# echo backend and client (PyPI; the python3 on PATH may not be Debian's).
if ! python3 -c 'import websockets' >/dev/null 2>&1; then
    echo "scripts/test.sh: installing python websockets"
    python3 -m pip install -q --disable-pip-version-check websockets 2>/dev/null ||
        python3 -m pip install -q --disable-pip-version-check --break-system-packages websockets
fi

# Every process the tests start comes from tests/common/mod.rs `command`, which puts it
# in a process group of its own and sets RHTTPD_TEST_SUITE=<run dir>/<test pid>.<n>; a
# long-running one also records its group in <run dir>/groups/. The run dir is given to
# the tests only (not exported), so this script's own helpers carry none of it.
if grep -rn --include='*.rs' 'Command::new' tests crates/*/tests | grep -v '^tests/common/mod.rs:'; then
    echo "scripts/test.sh: tests start processes through tests/common/mod.rs command()" >&2
    exit 1
fi
run_dir=$(mktemp -d "${TMPDIR:-/tmp}/rhttpd-test-run-XXXXXX")
read -r self_stat </proc/$$/stat
self_fields=(${self_stat##*) }) # after the last ')': the comm may hold spaces
run_start=${self_fields[19]}    # starttime, in clock ticks since boot

# nextest runs every test binary in parallel with per-test time limits (.config/nextest.toml);
# plain cargo test is the fallback.
status=0
if cargo nextest --version >/dev/null 2>&1; then
    RHTTPD_TEST_RUN=$run_dir cargo nextest run --workspace --no-fail-fast "$@" || status=$?
    doc_status=0
    RHTTPD_TEST_RUN=$run_dir cargo test --workspace --doc -q || doc_status=$?
    [ "$status" != 0 ] || status=$doc_status
else
    RHTTPD_TEST_RUN=$run_dir cargo test --workspace --no-fail-fast "$@" || status=$?
fi

# Processes left behind: any process with this run's marker in its environment, or in a
# process group a test recorded and started after this script (php-fpm's workers
# overwrite their environment with their title; a started-later check keeps a group id
# reused by an unrelated process from being named). This script and its ancestors are
# never counted.
declare -A mine=()
p=$$
while [ "$p" -gt 1 ] 2>/dev/null; do
    mine[$p]=1
    p=$(awk '/^PPid:/ { print $2 }' /proc/"$p"/status 2>/dev/null || echo 0)
done
left=()
for dir in /proc/[0-9]*; do
    pid=${dir#/proc/}
    [ -z "${mine[$pid]:-}" ] || continue
    { read -r stat <"$dir/stat"; } 2>/dev/null || continue
    fields=(${stat##*) })
    state=${fields[0]} pgid=${fields[2]} start=${fields[19]}
    [ "$state" != Z ] || continue
    if grep -qz "^RHTTPD_TEST_SUITE=$run_dir/" "$dir/environ" 2>/dev/null ||
        { [ -e "$run_dir/groups/$pgid" ] && [ "$start" -ge "$run_start" ]; }; then
        left+=("$pid")
    fi
done
rm -rf "$run_dir"
if [ ${#left[@]} -gt 0 ]; then
    echo "scripts/test.sh: ${#left[@]} process(es) started by the tests are still running:" >&2
    for pid in "${left[@]}"; do
        cmd=$(tr '\0' ' ' </proc/"$pid"/cmdline 2>/dev/null || true)
        echo "  pid $pid: ${cmd:-(gone)}" >&2
    done
    [ "$status" != 0 ] || status=1
else
    echo "scripts/test.sh: no process started by the tests is left running"
fi
exit "$status"
