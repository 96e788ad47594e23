#!/usr/bin/env bash
# The hardware tests as CI runs them: installs the image tools, builds the
# release binaries, builds the appliance image if its recipe changed (the
# base root is cached by recipe hash; see docs/image.md), boots it under QEMU
# and runs hw-tests/run.sh. Run as root.
set -euo pipefail
if [[ ${1:-} == -h || ${1:-} == --help ]]; then
  cat <<'USAGE'
Usage: scripts/hw-test.sh [--rebuild-image]

  1. scripts/image-setup.sh (mmdebstrap, qemu-system-x86, ... from bookworm)
  2. cargo build --release --locked -p cuebox-appliance -p hostctl
  3. scripts/image-build.sh, unless build/image was built from the same recipe
     (images/, scripts/image-build.sh); the tests bring their own cueboxd, so a
     new cueboxd alone never rebuilds the image. --rebuild-image forces it.
  4. hw-tests/run.sh against build/image with the release binaries
  5. hw-tests/uefi-boot.sh: the same disk booted by OVMF and systemd-boot answers hostctl
USAGE
  exit 0
fi
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
t0=$(date +%s)
mark() { echo "== hw-test: $* (+$(($(date +%s) - t0)) s)"; }

bash scripts/image-setup.sh
mark "building release binaries"
cargo build --release --locked -p cuebox-appliance -p hostctl
bin=${CARGO_TARGET_DIR:-target}/release

recipe=$(cat scripts/image-build.sh $(git ls-files images 2>/dev/null || find images -type f) | sha256sum | cut -c1-16)
if [[ ${1:-} == --rebuild-image || $(cat build/image/recipe 2>/dev/null) != "$recipe" || ! -s build/image/cuebox.qcow2 ]]; then
  mark "building the image (recipe $recipe)"
  bash scripts/image-build.sh --no-setup --cueboxd "$bin/cueboxd"
  echo "$recipe" > build/image/recipe
else
  mark "image up to date (recipe $recipe)"
fi
mark "running hw-tests"
bash hw-tests/run.sh --bin "$bin"
mark "booting the disk through UEFI firmware and systemd-boot"
bash hw-tests/uefi-boot.sh --bin "$bin"
mark "hw-tests passed"
