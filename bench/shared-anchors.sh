#!/usr/bin/env bash
# rhttpd (event) measured by the shared anchor harness (../shared/bench/anchors.sh) next to
# Apache httpd (event) and nginx in the same run: throughput, Connection: close, files,
# and memory (PSS/RSS over all processes) with 1,000 and 10,000 idle keep-alive
# connections plus what a fresh client sees meanwhile. Results land in $OUT (table.md).
#
#   bash bench/shared-anchors.sh                 # ~15 min
#   QUICK=1 bash bench/shared-anchors.sh         # smoke test
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
SHARED=${SHARED:-$ROOT/../shared/bench}
[ -f "$SHARED/anchors.sh" ] || { echo "no $SHARED/anchors.sh" >&2; exit 1; }
(cd "$ROOT" && cargo build --release -q)
export SERVERS=${SERVERS:-"custom apache-event nginx"}
export CUSTOM_NAME=rhttpd-event
export CUSTOM_CMD="$ROOT/target/release/rhttpd -f $ROOT/bench/configs/anchors-rhttpd-event.conf -D FOREGROUND -C 'Define A_PORT @PORT@' -C 'Define A_DOCROOT @DOCROOT@' -C 'Define A_KA @KATIMEOUT@' -C 'Define A_WORK @WORK@'"
export IDLE_COUNTS=${IDLE_COUNTS:-"1000 10000"}
export H2=${H2:-0}        # rhttpd has no HTTP/2 yet
export ROUNDS=${ROUNDS:-3}
export OUT=${OUT:-/tmp/anchors/rhttpd-$(date +%Y%m%d-%H%M%S)}
exec bash "$SHARED/anchors.sh"
