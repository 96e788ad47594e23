# Shared by the live benchmarks (sourced, not run): builds release binaries
# and the paced test PCM, and makes a bench session that plays a long tone,
# so rt-out renders real voices while it is measured.
#
# After sourcing: $bench (a work folder), $cueboxd, $session, and
# ALSA_CONFIG_PATH pointing at a paced PCM named `paced` (output discarded).

cd "$(dirname "${BASH_SOURCE[0]}")/../.."
source scripts/setup.sh
export PATH="$HOME/.cargo/bin:$PATH"

cargo build --release --locked -q -p hostctl -p cueboxd
so=$(scripts/alsa/build-paced-pcm.sh | tail -n 1)
bench=$(mktemp -d /tmp/cuebox-bench.XXXXXX)
trap 'rm -rf "$bench"' EXIT
cueboxd=target/release/cueboxd
session=$bench/session

cat > "$bench/asound.conf" <<CONF
pcm_type.cuebox_paced { lib "$so" }
pcm.paced { type cuebox_paced outfile "/dev/null" }
CONF
export ALSA_CONFIG_PATH="/usr/share/alsa/alsa.conf:$bench/asound.conf"

sox -n -r 48000 -b 16 -c 2 "$bench/tone.wav" synth 600 sine 440 gain -20
target/release/hostctl session new "$session" --media "$session/media" --name bench >/dev/null
target/release/hostctl clip add "$session" "$bench/tone.wav" --page 1 --tab 1 --at 1,1 --group A >/dev/null
echo '[{"at": 0.1, "cmd": "go", "clip": "c1"}]' > "$bench/events.json"

# live_run SECONDS PERIOD PERIODS CORE: plays the bench session and prints
# cueboxd's final summary (JSON) of the playback stream.
live_run() {
  "$cueboxd" --root "$bench/root" run --json --session "$session" --device paced \
    --channels 2 --period "$2" --periods "$3" --core "$4" --events "$bench/events.json" \
    --seconds "$1" | python3 -c '
import json, sys
for line in sys.stdin:
    e = json.loads(line)
    if e["event"] == "stopped_run":
        print(json.dumps(e["summary"]["playback"]))'
}

# A CPU load: one busy process per core in $1 (a comma list), until killed.
start_load() {
  stress-ng --quiet --cpu "$(tr ',' '\n' <<<"$1" | wc -l)" --taskset "$1" --timeout 0 &
  load_pid=$!
}
stop_load() { kill "$load_pid" 2>/dev/null; wait "$load_pid" 2>/dev/null || true; }
