#!/usr/bin/env bash
# The operator's page on loopback (docs/web.md): a release cueboxd plays
# into the paced test PCM (256-frame periods at 48 kHz) with --web; headless
# Chromium through chromedriver logs in and measures
#  - tap -> accepted: 200 GOs through the page's own command path (a fetch
#    to /api/act, answered once the box stamped the GO's sample), timed in
#    the browser, p50/p99;
#  - page load to interactive: navigation start to the grid drawn with the
#    first live frame, 20 loads, p50/max;
#  - the CPU of cueboxd, and of its web threads (web, web-events), over
#    10 s with no browser, then with 10 browsers connected while a clip
#    plays (meters and progress moving), as % of one core.
# Prints the figures as one JSON object, and the load average (the machine
# may be shared).
#
#   scripts/bench-web.sh
set -euo pipefail
cd "$(dirname "$0")/.."
target=${CARGO_TARGET_DIR:-$PWD/target}
cargo build --release -q -p cueboxd --bin cueboxd
export CUEBOXD_BIN=$target/release/cueboxd
echo "operator's page on loopback (release cueboxd; load average $(cut -d' ' -f1-3 /proc/loadavg)):"
cargo test -q -p cueboxd --test live -- bench_web --ignored --nocapture 2>/dev/null |
  sed -n 's/^BENCH //p'
