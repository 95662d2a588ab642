#!/usr/bin/env bash
# The whole test suite on a fresh machine: installs what the tests use (real peers,
# not mocks), then runs every unit, property and end-to-end test of the workspace.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v curl >/dev/null 2>&1 || need+=(curl)
command -v prometheus-apache-exporter >/dev/null 2>&1 || need+=(prometheus-apache-exporter)
# Real peers of the dynamic-content tests (tests/e2e_dynamic.rs): an upstream HTTP
# server for mod_proxy_http and PHP-FPM for mod_proxy_fcgi.
[ -x /usr/sbin/nginx ] || command -v nginx >/dev/null 2>&1 || need+=(nginx)
compgen -G '/usr/sbin/php-fpm*' >/dev/null || need+=(php-fpm)
if [ ${#need[@]} -gt 0 ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "scripts/test.sh: installing ${need[*]}"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
    else
        echo "scripts/test.sh: missing ${need[*]} (install them, or run as root with apt-get)" >&2
        exit 1
    fi
fi

# nextest runs every test binary in parallel with per-test time limits (.config/nextest.toml);
# plain cargo test is the fallback.
if cargo nextest --version >/dev/null 2>&1; then
    cargo nextest run --workspace --no-fail-fast "$@"
    cargo test --workspace --doc -q
else
    cargo test --workspace --no-fail-fast "$@"
fi
