#!/usr/bin/env bash
# rt-out's wake-up latency against cyclictest, side by side on this machine:
# both SCHED_FIFO 80 on the same core at the same interval (one 256-frame
# period at 48 kHz = 5333 µs), idle and with a CPU load on the other core.
# Prints p50/p99/p99.9/max of each and the ratio cuebox / cyclictest.
#
# rt-out's wake-up latency is measured from the instant the card crossed a
# period boundary (its timestamped position, through the DLL) to the thread
# running; cyclictest's from its timer's expiry to the thread running.
# Usage: scripts/compare-cyclictest.sh [SECONDS per run, default 30]
set -euo pipefail
seconds=${1:-30}
source "$(dirname "$0")/lib/live-bench.sh"
command -v cyclictest >/dev/null || { apt-get install -y -qq rt-tests >/dev/null; }
command -v stress-ng >/dev/null || { apt-get install -y -qq stress-ng >/dev/null; }

cpus=$(nproc)
core=$((cpus - 1))
others=$(seq -s, 0 $((core - 1)))
[[ -n $others ]] || others=$core

cyclic() {
  cyclictest -q -m -p 80 -a "$core" -t 1 -i 5333 -D "${seconds}s" -h 100000 \
    --histfile="$bench/hist" >/dev/null
  python3 - "$bench/hist" <<'PY'
import json, sys
counts = []
for line in open(sys.argv[1]):
    if line.startswith("#") or not line.strip():
        continue
    us, n = line.split()[:2]
    counts.append((int(us), int(n)))
total = sum(n for _, n in counts)
def q(p):
    seen = 0
    for us, n in counts:
        seen += n
        if seen >= p * total:
            return us
mx = max((us for us, n in counts if n), default=0)
for line in open(sys.argv[1]):
    if line.startswith("# Max Latencies"):
        mx = int(line.split()[-1])
print(json.dumps({"count": total, "p50_us": q(0.5), "p99_us": q(0.99), "p999_us": q(0.999), "max_us": mx}))
PY
}

report() {
  python3 - "$1" "$2" "$3" <<'PY'
import json, sys
label, ours, theirs = sys.argv[1], json.loads(sys.argv[2])["wakeup"], json.loads(sys.argv[3])
print(f"{label}: {ours['count']} cuebox wake-ups, {theirs['count']} cyclictest wake-ups")
print(f"  {'':>8} {'cuebox rt-out':>14} {'cyclictest':>11} {'ratio':>7}")
for k in ("p50_us", "p99_us", "p999_us", "max_us"):
    a, b = ours[k], theirs[k]
    ratio = f"{a / b:.2f}" if b else "-"
    print(f"  {k[:-3]:>8} {a:>11} µs {b:>8} µs {ratio:>7}")
PY
}

echo "== idle: $seconds s each on core $core"
ours=$(live_run "$seconds" 256 3 "$core")
theirs=$(cyclic)
report "idle" "$ours" "$theirs"

echo "== CPU load on core(s) $others: $seconds s each on core $core"
start_load "$others"
ours=$(live_run "$seconds" 256 3 "$core")
theirs=$(cyclic)
stop_load
report "load" "$ours" "$theirs"
