#!/usr/bin/env bash
# GO over the network on loopback: a release cueboxd plays into the paced
# file PCM (256-frame periods at 48 kHz); `hostctl latency` sends GO and
# STOP COUNT times on one TLS connection (every 50 ms, inside the API's
# rate limit) and prints the round trip and the
# time from sending a GO to the sample it is applied at (half the round
# trip plus the lead the box stamps it with), p50/p99/max. The audible
# moment adds the device buffer (3 periods, 16 ms) on top.
#
#   scripts/bench-go-latency.sh [COUNT]
set -euo pipefail
cd "$(dirname "$0")/.."
count=${1:-500}
cargo build --release -q -p cueboxd -p hostctl
bin=$PWD/target/release
tmp=$(mktemp -d)
box_pid=
trap '[[ -n $box_pid ]] && kill $box_pid 2>/dev/null; wait 2>/dev/null; rm -rf "$tmp"' EXIT
export CUEBOX_HOST_DIR=$tmp/host
source scripts/lib/box.sh

sox -n -r 48000 -b 16 -c 2 "$tmp/tone.wav" synth 2 sine 440 gain -12
"$bin/hostctl" session new "$tmp/show" --media "$tmp/show/media" >/dev/null 2>&1
"$bin/hostctl" clip add "$tmp/show" "$tmp/tone.wav" --at 1,1 --group A >/dev/null 2>&1
box_start "$tmp/box" 127.0.0.1:53199
box_pair "$tmp/box" 127.0.0.1:53199
"$bin/hostctl" push "$tmp/show" --to bench >/dev/null
for _ in $(seq 100); do
  "$bin/hostctl" status bench --json 2>/dev/null | grep -q '"rate":48000' && break
  sleep 0.1
done
echo "GO latency on loopback, $count GOs (release build, 256-frame periods at 48 kHz):"
"$bin/hostctl" latency bench c1 --count "$count" --interval 50
