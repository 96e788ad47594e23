#!/usr/bin/env bash
# Runs every fuzz target for SECONDS each (default 20): the decoders that
# face untrusted input — media files (decode) and MIDI Show Control (msc) in
# engine/fuzz, the API's network frames (api_frame) and OSC with SLIP framing
# (osc) in appliance/proto/fuzz. CI runs it briefly; run it longer by hand
# (see engine/fuzz/README.md). Installs cargo-fuzz when missing.
#
# By default the targets build with the fuzz crate's dev profile, opt-level 1:
# 5.6 min from cold on 2 cores, against 16 min measured for the optimised
# build while other builds ran, and within 2x of its speed. Right for CI's
# brief runs; --release builds them fully optimised, for long runs by hand.
#
#   scripts/fuzz.sh [SECONDS] [--release]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-20}
profile=(--dev)
[[ ${2:-} == --release ]] && profile=()
if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "fuzz: installing cargo-fuzz"
  cargo install -q cargo-fuzz --locked
fi
# The fuzz crates sit beside what they fuzz: the engine's decoders (media,
# MSC) and the protocols the box hears from the network (API frames, OSC).
# One target folder: the second crate reuses what the first built.
export CARGO_TARGET_DIR=$PWD/target/fuzz
# Stable rustc accepts the sanitizer flags cargo-fuzz passes with this.
export RUSTC_BOOTSTRAP=1
for crate in engine/fuzz appliance/proto/fuzz; do
  for target in $(cd "$crate" && cargo fuzz list); do
    echo "fuzz: $target ($crate) for ${seconds} s"
    # OSC packets reach 64 KiB; libFuzzer's 4 KiB default could never build
    # the deep nesting that once overflowed the stack.
    limits=()
    [[ $target == osc ]] && limits=(-max_len=65536)
    (cd "$crate" && cargo fuzz run "${profile[@]}" -s address "$target" -- -max_total_time="$seconds" "${limits[@]}" -print_final_stats=1 2>&1) \
      | grep -E '^(stat::number_of_executed_units|stat::peak_rss_mb|==[0-9]+==ERROR|SUMMARY|thread .* panicked)' || true
    # cargo fuzz exits non-zero on a crash; grep above only shortens the log.
    test "${PIPESTATUS[0]}" -eq 0
  done
done
