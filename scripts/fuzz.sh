#!/usr/bin/env bash
# Runs every fuzz target of engine/fuzz for SECONDS each (default 20): the
# decoders that face untrusted input — media files (decode) and the API's
# network frames (api_frame), MIDI Show Control (msc) and OSC with SLIP
# framing (osc). CI runs it briefly; run it longer by hand
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
cd engine/fuzz
# Stable rustc accepts the sanitizer flags cargo-fuzz passes with this.
export RUSTC_BOOTSTRAP=1
for target in $(cargo fuzz list); do
  echo "fuzz: $target for ${seconds} s"
  # OSC packets reach 64 KiB; libFuzzer's 4 KiB default could never build
  # the deep nesting that once overflowed the stack.
  limits=()
  [[ $target == osc ]] && limits=(-max_len=65536)
  cargo fuzz run "${profile[@]}" -s address "$target" -- -max_total_time="$seconds" "${limits[@]}" -print_final_stats=1 2>&1 \
    | grep -E '^(stat::number_of_executed_units|stat::peak_rss_mb|==[0-9]+==ERROR|SUMMARY|thread .* panicked)' || true
  # cargo fuzz exits non-zero on a crash; grep above only shortens the log.
  test "${PIPESTATUS[0]}" -eq 0
done
