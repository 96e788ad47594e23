#!/usr/bin/env bash
# Builds the paced test PCM (an ALSA ioplug plugin, see docs/paced-pcm.md)
# into $CARGO_TARGET_DIR/alsa (default target/alsa), only when the source is
# newer, and prints the path of the .so as its last line.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
target=${CARGO_TARGET_DIR:-$here/../../target}
mkdir -p "$target/alsa"
so=$(cd "$target/alsa" && pwd)/libasound_module_pcm_cuebox_paced.so
src=$here/pcm_cuebox_paced.c
if ! command -v cc >/dev/null; then
  echo "build-paced-pcm: no C compiler; run: apt-get install build-essential libasound2-dev" >&2
  exit 1
fi
if [[ ! -f /usr/include/alsa/pcm_external.h ]]; then
  echo "build-paced-pcm: no ALSA headers; run: apt-get install libasound2-dev" >&2
  exit 1
fi
if [[ ! -f $so || $src -nt $so ]]; then
  # -DPIC: without it alsa-lib cannot load the plugin (undefined symbol snd_dlsym_start).
  cc -O2 -Wall -Wextra -fPIC -DPIC -shared -o "$so.tmp" "$src" -lasound
  mv "$so.tmp" "$so"
fi
echo "$so"
