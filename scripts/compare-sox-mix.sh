#!/usr/bin/env bash
# Offline render speed: cuebox against `sox -m`, side by side, on the same
# 24-track mix (60 s stereo tracks, half of them at 44.1 kHz needing
# sample-rate conversion to 48 kHz, unity gains). Prints both wall times and
# their ratio. Usage: scripts/compare-sox-mix.sh [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-60}
cargo build --release --locked -q -p hostctl -p cueboxd
bin=$PWD/target/release
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/src"

groups=(A B C D)
inputs=()
for i in $(seq 1 24); do
  rate=$(( i % 2 ? 48000 : 44100 ))
  f="$tmp/src/track$i.wav"
  sox -n -r "$rate" -b 16 -c 2 "$f" synth "$secs" sine $((180 + i * 37)) gain -30
  inputs+=("$f")
done

"$bin/hostctl" session new "$tmp/show" --media "$tmp/show/media" --rows 8 --cols 8 >/dev/null 2>&1
for i in $(seq 1 24); do
  "$bin/hostctl" clip add "$tmp/show" "$tmp/src/track$i.wav" --at "$(( (i - 1) / 8 + 1 )),$(( (i - 1) % 8 + 1 ))" \
    --group "${groups[$(( i % 4 ))]}" >/dev/null 2>&1
done
# Free mode in every group, so all 24 voices play at once (choke allows 3 per group).
python3 - "$tmp/show/session.json" <<'PY'
import json, sys
p = sys.argv[1]
doc = json.load(open(p))
for g in "ABCD":
    doc["busses"]["groups"][g]["mode"] = {"kind": "free"}
json.dump(doc, open(p, "w"), indent=2)
PY
python3 -c "import json; print(json.dumps([{'at': 0, 'cmd': 'go', 'clip': f'c{i}'} for i in range(1, 25)]))" > "$tmp/events.json"

now() { date +%s.%N; }
t0=$(now)
"$bin/cueboxd" render --session "$tmp/show" --events "$tmp/events.json" --out "$tmp/cuebox.wav" --seconds "$secs" >/dev/null
t1=$(now)
sox_args=()
for f in "${inputs[@]}"; do sox_args+=(-v 1 "|sox $f -p rate -v 48000"); done
sox -m "${sox_args[@]}" -e floating-point -b 32 "$tmp/sox.wav"
t2=$(now)

python3 - "$t0" "$t1" "$t2" "$secs" <<'PY'
import sys
t0, t1, t2, secs = map(float, sys.argv[1:])
cue, sx = t1 - t0, t2 - t1
print(f"24 tracks x {secs:.0f} s, 12 needing 44.1->48 kHz SRC")
print(f"cuebox render: {cue:7.2f} s  ({secs / cue:6.1f}x real time)")
print(f"sox -m:        {sx:7.2f} s  ({secs / sx:6.1f}x real time)")
print(f"ratio sox/cuebox: {sx / cue:.2f} (above 1: cuebox is faster)")
PY
