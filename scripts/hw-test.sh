#!/usr/bin/env bash
# The hardware tests as CI runs them: installs the image tools, builds the
# release binaries, builds the appliance image if its recipe changed (the
# base root is cached by recipe hash; see docs/image.md), boots it under QEMU
# and runs hw-tests/run.sh, uefi-boot.sh and cards.sh. Run as root.
set -euo pipefail
if [[ ${1:-} == -h || ${1:-} == --help ]]; then
  cat <<'USAGE'
Usage: scripts/hw-test.sh [--rebuild-image]

  1. scripts/image-setup.sh (mmdebstrap, qemu-system-x86, ... from bookworm)
  2. cargo build --release --locked -p cueboxd -p hostctl
  3. scripts/image-build.sh, unless build/image was built from the same recipe
     (images/, scripts/image-build.sh) and the same cueboxd: run.sh brings its
     own cueboxd, but uefi-boot.sh and cards.sh test the image as built, its
     cueboxd included (a warm rebuild takes under a minute). --rebuild-image
     forces it.
  4. hw-tests/run.sh against build/image with the release binaries
  5. hw-tests/uefi-boot.sh: the same disk booted by OVMF and systemd-boot answers hostctl
  6. hw-tests/cards.sh: the same disk, booted the same way with its default
     cuebox.conf, on an Intel HDA card, a USB audio interface, an 8-output USB
     interface and no card at all: it plays a pushed session on each card (the
     recordings hold sound, status shows the device it chose), says why when
     it cannot, and does not restart-loop across a reboot typed on its serial
     console (8–11 min under TCG)
USAGE
  exit 0
fi
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
t0=$(date +%s)
mark() { echo "== hw-test: $* (+$(($(date +%s) - t0)) s)"; }

bash scripts/image-setup.sh
mark "building release binaries"
cargo build --release --locked -p cueboxd -p hostctl
bin=${CARGO_TARGET_DIR:-target}/release

# The recipe and the cueboxd the image carries (uefi-boot.sh and cards.sh
# boot the image as built).
recipe=$(cat scripts/image-build.sh $(git ls-files images 2>/dev/null || find images -type f) "$bin/cueboxd" | sha256sum | cut -c1-16)
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
mark "the disk on each kind of sound card (and none)"
bash hw-tests/cards.sh --bin "$bin"
mark "hw-tests passed"
