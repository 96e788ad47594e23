#!/usr/bin/env bash
# Xruns per hour of a live run through the paced test PCM, at 256×3 and
# 128×2 periods (48 kHz), under a CPU load on every core (rt-out runs at
# SCHED_FIFO 80 above it). Prints each configuration's xruns, the rate per
# hour, and the recovery time.
# Usage: scripts/bench-xruns.sh [SECONDS per configuration, default 300]
set -euo pipefail
seconds=${1:-300}
source "$(dirname "$0")/lib/live-bench.sh"
command -v stress-ng >/dev/null || { apt-get install -y -qq stress-ng >/dev/null; }

cpus=$(nproc)
core=$((cpus - 1))
start_load "$(seq -s, 0 $((cpus - 1)))"
for config in "256 3" "128 2"; do
  read -r period periods <<<"$config"
  summary=$(live_run "$seconds" "$period" "$periods" "$core")
  python3 - "$period" "$periods" "$seconds" "$summary" <<'PY'
import json, sys
period, periods, seconds, s = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]), json.loads(sys.argv[4])
per_hour = s["xruns"] * 3600 / seconds
print(f"{period}x{periods} ({period * periods / 48:.1f} ms): {s['xruns']} xruns in {seconds:.0f} s "
      f"= {per_hour:.1f}/hour; poll timeouts {s['poll_timeouts']}; "
      f"recovery p50 {s['recovery']['p50_us']} µs max {s['recovery']['max_us']} µs; "
      f"wake-up p99 {s['wakeup']['p99_us']} µs max {s['wakeup']['max_us']} µs; "
      f"processing p50 {s['process']['p50_us']} µs p99 {s['process']['p99_us']} µs")
PY
done
stop_load
