#!/usr/bin/env bash
# The main job: sets the machine up, builds cuebox, makes demo media with sox,
# authors the demo show with hostctl into a cueboxd data root, validates it,
# renders a timed run of the show to WAV files, then plays the same run live
# through ALSA with `cueboxd run`: on the sound card where the machine has
# one, otherwise through the project's paced test PCM into a file.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
export PATH="$HOME/.cargo/bin:$PATH"

cargo build --release --locked -p hostctl -p cueboxd
bin=target/release
hostctl() { "$bin/hostctl" "$@"; }
cueboxd() { "$bin/cueboxd" "$@"; }

out=demo-out
root=$out/root
session=$root/Sessions/demo
media=$root/Media/demo
src=$out/source-media
rm -rf "$out"
mkdir -p "$src"

echo "== making demo media with sox"
sox -n -r 48000 -b 24 -c 2 "$src/storm.wav" synth 8 pinknoise fade q 1 8 2 gain -12
sox -n -r 44100 -b 16 -c 1 "$src/bell.wav" synth 3 sine 880 fade l 0 3 2.9 gain -6
sox -n -r 48000 -b 16 -c 2 "$src/underscore.flac" synth 10 sine 220 sine 277.18 fade h 2 10 3 gain -18
sox -n -r 48000 -b 32 -e floating-point -c 2 "$src/sting.wav" synth 1.5 square 110 fade 0 1.5 1 gain -20

echo "== authoring the demo show"
cueboxd --root "$root" sessions list   # creates the data root's layout
hostctl session new "$session" --media "$media" --name "Demo show" --rows 4 --cols 6
hostctl clip add "$session" "$src/storm.wav" --page 1 --tab 1 --at 1,1 --group A --name "Storm"
hostctl clip add "$session" "$src/bell.wav" --page 1 --tab 1 --at 1,2 --group B --name "Church bell"
hostctl clip add "$session" "$src/underscore.flac" --page 1 --tab 1 --at 2,1 --group C --name "Underscore"
hostctl clip add "$session" "$src/sting.wav" --page 1 --tab 2 --at 3,4 --group D --name "Sting"
hostctl grid resize "$session" --page 1 --tab 2 --rows 2 --cols 3
hostctl grid undo "$session" --page 1 --tab 2

echo "== validating"
hostctl session validate "$session" --hashes
hostctl session show "$session"
cueboxd --root "$root" sessions list

echo "== rendering the demo show"
cat > "$out/events.json" <<'JSON'
[
  {"at": 0.0, "cmd": "go", "clip": "c3"},
  {"at": 0.5, "cmd": "go", "clip": "c1"},
  {"at": 2.0, "cmd": "go", "clip": "c2"},
  {"at": 3.0, "cmd": "audition", "clip": "c4"},
  {"at": 5.0, "cmd": "go", "clip": "c4"},
  {"at": 6.0, "cmd": "fade_out", "clip": "c1", "time": 2.0},
  {"at": 9.0, "cmd": "fade_all", "time": 1.5}
]
JSON
cueboxd render --session "$session" --events "$out/events.json" --out "$out/demo-main.wav" --seconds 12
cueboxd render --session "$session" --events "$out/events.json" --out "$out/demo-audition.wav" --seconds 12 --bus audition

echo "== playing the demo show live through ALSA"
live=()
if grep -qE '^ *[0-9]+ ' /proc/asound/cards 2>/dev/null; then
  # The box chooses the first card that plays and fits itself to it.
  device=
  where="the first sound card (cueboxd chooses it: see the device line above)"
else
  # No card: a file-backed PCM paced like a card by the real-time clock.
  so=$(scripts/alsa/build-paced-pcm.sh | tail -n 1)
  cat > "$out/asound.conf" <<CONF
pcm_type.cuebox_paced { lib "$so" }
pcm.cuebox_demo { type cuebox_paced outfile "$PWD/$out/demo-live.raw" }
CONF
  export ALSA_CONFIG_PATH="/usr/share/alsa/alsa.conf:$PWD/$out/asound.conf"
  device=cuebox_demo
  live=(--format FLOAT_LE)
  where="$PWD/$out/demo-live.wav (no sound card: played through the paced file PCM)"
fi
cueboxd --root "$root" run --session demo ${device:+--device "$device"} "${live[@]}" \
  --events "$out/events.json" --seconds 12
if [[ $device == cuebox_demo ]]; then
  # Outputs 1-8 are groups A-D, 9-10 the audition bus (the default routing).
  sox -t raw -e floating-point -b 32 -c 10 -r 48000 "$out/demo-live.raw" "$out/demo-live.wav"
  rm "$out/demo-live.raw"
fi

echo "== demo show ready in $session"
echo "== rendered: $PWD/$out/demo-main.wav (groups A-D) and $PWD/$out/demo-audition.wav (audition bus)"
echo "== played live: $where"
