#!/usr/bin/env bash
# rhttpd reliability suite (issue #16): kill -9 of children, -k graceful every 2 s,
# MaxConnectionsPerChild 100, the descriptor limit and a mixed-traffic soak, each under
# wrk load on prefork, worker and event. See bench/reliability.py for every knob.
#
#   bash bench/reliability.sh                 # full: 60 s per scenario, 10-minute soak
#   QUICK=1 bash bench/reliability.sh         # 10 s per scenario, 1-minute soak
#   MPMS=event SCENARIOS="graceful soak" bash bench/reliability.sh
#
# Installs wrk if it is missing (root, apt-get), builds the release binary unless BUILD=0,
# talks to 127.0.0.1 only and stops every process it started.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
if ! command -v wrk >/dev/null; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk
fi
if [[ ${BUILD:-1} == 1 && -z ${RHTTPD:-} ]]; then
  (cd "$REPO" && cargo build --release)
fi
export RHTTPD=${RHTTPD:-$REPO/target/release/rhttpd}
exec python3 "$HERE/reliability.py" "$@"
