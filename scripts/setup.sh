#!/usr/bin/env bash
# Prepares a fresh Debian 12 machine to build and test cuebox. Idempotent:
# it installs only what is missing, so running it twice costs seconds.
set -euo pipefail

# Debian packages: ALSA headers for the engine's device layer, pkg-config for
# -sys crates, sox to make demo media, ffmpeg and sox as reference decoders in
# tests, a C compiler for bundled SQLite and the test peers (the paced ALSA
# PCM, the libltc LTC peer); linuxptp (the PTP peer), iproute2 (network
# namespaces), strace (proof the system clock is never set), and JACK
# (jackd2, libjack-jackd2-dev): the tests' MIDI ports on a machine without
# an ALSA sequencer; rsync, the peer scripts/compare-rsync.sh measures
# session push against; systemd (journald, systemd-cat, journalctl: the
# journal the box writes its events to), libxml2-utils (xmllint) and
# python3-jsonschema, which check the cue sheet exports against their schemas;
# rclone, which the box copies its logs and exports off-box with (tested
# against a local rclone remote); chromium and chromium-driver, the real
# browser the operator's page is tested in (headless, through WebDriver);
# keepalived, the VRRP a pair's control address moves with, and nftables, the
# packet loss the pair's takeover tests inject inside network namespaces.
packages=(build-essential pkg-config libasound2-dev libltc-dev sox ffmpeg curl ca-certificates
  linuxptp iproute2 strace jackd2 libjack-jackd2-dev rsync systemd libxml2-utils
  python3-jsonschema rclone chromium chromium-driver keepalived nftables)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  sudo_cmd=()
  [[ $(id -u) -eq 0 ]] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# mido (PyPI): an independent MTC peer for the timecode tests.
if ! python3 -c "import mido" 2>/dev/null; then
  echo "setup: installing mido"
  python3 -m pip install -q mido
fi
# python-ltc (PyPI): a third LTC generator for the timecode tests.
if ! python3 -c "import pyltc.tcgen" 2>/dev/null; then
  echo "setup: installing python-ltc"
  python3 -m pip install -q python-ltc
fi

# Rust: the workspace needs a recent stable toolchain (Debian's cargo is too old).
if ! command -v cargo >/dev/null 2>&1; then
  if [[ -x "$HOME/.cargo/bin/cargo" ]]; then
    export PATH="$HOME/.cargo/bin:$PATH"
  else
    echo "setup: installing Rust with rustup"
    curl -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal --component rustfmt,clippy
    export PATH="$HOME/.cargo/bin:$PATH"
  fi
fi
for component in rustfmt clippy; do
  if ! cargo "${component/rustfmt/fmt}" --version >/dev/null 2>&1; then
    rustup component add "$component"
  fi
done
echo "setup: ready ($(cargo --version))"
