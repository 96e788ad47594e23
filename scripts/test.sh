#!/usr/bin/env bash
# The test command: sets the machine up, then checks formatting, lints, the
# host CLI's freedom from ALSA, runs every test of the workspace, and fuzzes
# each decoder of untrusted input for a few seconds.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
export PATH="$HOME/.cargo/bin:$PATH"

echo "== cargo fmt"
cargo fmt --all -- --check

echo "== cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings

echo "== hostctl never compiles ALSA"
if cargo tree -p hostctl -e normal --locked | grep -E '\balsa(-sys)?\b'; then
  echo "hostctl's dependency tree contains ALSA; build cuebox-engine with default-features = false" >&2
  exit 1
fi

echo "== cargo test"
cargo test --workspace --locked

echo "== fuzz every decoder that faces the network or media, briefly"
bash scripts/fuzz.sh 10

echo "== all tests passed"
