#!/usr/bin/env bash
# The test command: sets the machine up, then checks formatting, lints, the
# host CLI's freedom from ALSA, runs every test of the workspace, fuzzes
# each decoder of untrusted input for a few seconds, and runs the hardware
# tests on the appliance image under QEMU.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
export PATH="$HOME/.cargo/bin:$PATH"

echo "== cargo fmt"
cargo fmt --all -- --check

echo "== cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings

echo "== hostctl never compiles the box's dependencies"
# hostctl is engine + session + proto: no ALSA, real-time, OSC, PTP or MIDI.
if cargo tree -p hostctl -e normal --locked --prefix none | grep -E '^(alsa|alsa-sys|thread-priority|rosc|statime|midir) '; then
  echo "hostctl's dependency tree holds a crate of the box's (above); it must depend on cuebox-engine (default features off), cuebox-session and cuebox-proto only" >&2
  exit 1
fi

echo "== cargo test"
cargo test --workspace --locked

echo "== fuzz every decoder that faces the network or media, briefly"
bash scripts/fuzz.sh 10

# The appliance image booted under QEMU, with real ALSA kernel devices
# (docs/image.md). CUEBOX_SKIP_HW_TESTS=1 leaves it out on a developer's machine.
if [[ ${CUEBOX_SKIP_HW_TESTS:-0} == 1 ]]; then
  echo "== hw-tests skipped (CUEBOX_SKIP_HW_TESTS=1)"
else
  echo "== hw-tests"
  sudo_cmd=()
  [[ $(id -u) -eq 0 ]] || sudo_cmd=(sudo -E env "PATH=$PATH")
  "${sudo_cmd[@]}" bash scripts/hw-test.sh
fi

echo "== all tests passed"
