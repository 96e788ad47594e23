#!/usr/bin/env bash
# Live edits on a big show: a release cueboxd plays a 4,000-clip session
# (8 tabs of 16×32 over 200 short files) into the paced file PCM with one
# clip playing; each authoring verb is then sent to the box (`BOX:` in
# place of the session folder) and timed end to end, process start to
# exit: hostctl reads the playing show, edits it, sends the JSON Patch;
# the box checks it, ramps what plays, saves it with an undo step.
# Prints the median of RUNS runs of each.
#
#   scripts/bench-live-edit.sh [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-7}
cargo build --release -q -p cueboxd -p hostctl
bin=$PWD/target/release
tmp=$(mktemp -d)
box_pid=
trap '[[ -n $box_pid ]] && kill $box_pid 2>/dev/null; wait 2>/dev/null; rm -rf "$tmp"' EXIT
export CUEBOX_HOST_DIR=$tmp/host
source scripts/lib/box.sh

show=$tmp/big
"$bin/hostctl" session new "$show" --media "$show/media" >/dev/null 2>&1
for tab in 1 2 3 4 5 6 7 8; do
  "$bin/hostctl" grid resize "$show" --tab "$tab" --rows 16 --cols 32 >/dev/null
done
mkdir -p "$tmp/src"
echo "file,tab,row,col,name" > "$tmp/big.csv"
for i in $(seq 0 199); do
  sox -n -r 48000 -b 16 -c 2 "$tmp/src/f$i.wav" synth 0.1 sine $((200 + i)) gain -12
done
sox -n -r 48000 -b 16 -c 2 "$tmp/src/long.wav" synth 60 sine 440 gain -12
for n in $(seq 0 3999); do
  tab=$((n / 512 + 1)) slot=$((n % 512))
  file=$tmp/src/f$((n % 200)).wav
  [[ $n == 0 ]] && file=$tmp/src/long.wav
  echo "$file,$tab,$((slot / 32 + 1)),$((slot % 32 + 1)),cue $n" >> "$tmp/big.csv"
done
"$bin/hostctl" clip import "$show" --manifest "$tmp/big.csv" >/dev/null 2>&1
box_start "$tmp/box" 127.0.0.1:53198
box_pair "$tmp/box" 127.0.0.1:53198
"$bin/hostctl" push "$show" --to bench >/dev/null
"$bin/hostctl" go bench c1 >/dev/null

median() {
  local label=$1
  shift
  local t=()
  for i in $(seq "$runs"); do
    local s e
    s=$(date +%s%N)
    "$@" "$i" >/dev/null 2>&1 || { echo "$label failed: $*" >&2; "$@" "$i"; exit 1; }
    e=$(date +%s%N)
    t+=($(((e - s) / 1000)))
  done
  printf '%s\n' "${t[@]}" | sort -n | awk -v l="$label" -v r="$runs" \
    '{a[NR]=$1} END {printf "%-34s %7.1f ms median of %d, end to end\n", l, a[int((r+1)/2)]/1000, r}'
}
level() { "$bin/hostctl" clip set bench:c1 --level "-$1"; }
idle() { "$bin/hostctl" clip set bench:c2000 --fade-out "$1"; }
tab() { "$bin/hostctl" tab bench: --tab 3 --name "Act $1"; }
group() { "$bin/hostctl" group bench: A --level "-$1"; }
echo "Live edits on a box playing a 4000-clip show ($(du -k "$tmp/box/Sessions/big/session.json" | cut -f1) KiB manifest), release build:"
median "clip set (level, playing clip)" level
median "clip set (fade out, idle clip)" idle
median "tab name" tab
median "group level" group
