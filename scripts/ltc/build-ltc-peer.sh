#!/usr/bin/env bash
# Builds the libltc peer (scripts/ltc/ltc-peer.c) into $CARGO_TARGET_DIR/ltc
# (default target/ltc) when its source changed; prints the binary's path.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
target=${CARGO_TARGET_DIR:-$here/../../target}
mkdir -p "$target/ltc"
bin=$(cd "$target/ltc" && pwd)/ltc-peer
if [[ ! -f /usr/include/ltc.h ]]; then
  echo "build-ltc-peer: libltc is missing; run: apt-get install libltc-dev" >&2
  exit 1
fi
if [[ ! -x $bin || $here/ltc-peer.c -nt $bin ]]; then
  cc -O2 -Wall -Wextra -o "$bin.tmp" "$here/ltc-peer.c" -lltc -lm
  mv "$bin.tmp" "$bin"
fi
echo "$bin"
