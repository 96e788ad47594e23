#!/usr/bin/env bash
# Peak memory (max RSS) of loading large manifests with Show::load, measured
# by /usr/bin/time -v: a show of about MIB MiB (default 60) of clips, and a
# small show carrying N tiny unknown values (default: just under the limit,
# MAX_MANIFEST_VALUES, the costliest manifest per byte that loads).
#
#   scripts/bench-manifest-load.sh [MIB] [N]
set -euo pipefail
cd "$(dirname "$0")/.."
mib=${1:-60}
tiny=${2:-8388000}
target=${CARGO_TARGET_DIR:-target}
cargo build --release --locked -q -p cuebox-engine --example manifest_load
bin=$target/release/examples/manifest_load
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
"$bin" write "$dir/show.json" "$mib"
"$bin" write-tiny "$dir/tiny.json" "$tiny"
for f in show tiny; do
    out=$(/usr/bin/time -v "$bin" load "$dir/$f.json" 2>&1)
    echo "$out" | grep '^loaded'
    echo "$out" | awk -F': ' '/Maximum resident set size/ {printf "  max RSS %.0f MiB\n", $2 / 1024}'
done
