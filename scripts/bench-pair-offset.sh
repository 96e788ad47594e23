#!/usr/bin/env bash
# The main/backup pair's alignment (docs/pair.md): two debug cueboxd in two
# network namespaces joined by a veth pair, each on its own paced test card
# (the backup's 50 ppm fast), a GO every 3 s (through the API and over OSC
# in turn) for MINUTES, twice: commands placed by PTP instants (both units
# run PTP, the main master), then by the heartbeat offset (no PTP). For
# each GO, the offset between the two units' onsets in their recordings,
# placed on CLOCK_MONOTONIC by the paced PCM's startfile (the backup's
# samples at its card's rate). Prints p50/p99/max of its size and the mean
# (backup − main), in samples at 48 kHz, as one JSON line per path.
# Needs root (network namespaces, PTP's ports).
#
#   scripts/bench-pair-offset.sh [MINUTES]     (default 10, per path)
set -euo pipefail
cd "$(dirname "$0")/.."
minutes=${1:-10}
cargo build -q -p cueboxd
cargo test -q -p hostctl --test network --no-run 2>/dev/null
echo "pair offset, ${minutes} min per path (debug cueboxd; load average $(cut -d' ' -f1-3 /proc/loadavg)):"
for instants in ptp heartbeat; do
    PAIR_MINUTES=$minutes PAIR_INSTANTS=$instants \
        cargo test -q -p hostctl --test network -- bench_pair_offset --ignored --nocapture --exact 2>/dev/null |
        sed -n 's/^BENCH //p'
done
