#!/usr/bin/env bash
# Installs what building the appliance image and running hw-tests need, from
# Debian bookworm. Idempotent: installs only what is missing.
#
# The QEMU stack comes from one suite: qemu-system-x86 from bookworm needs
# bookworm's qemu-utils, so a newer qemu-utils (from backports) is replaced
# by bookworm's (apt would otherwise refuse, or mix versions).
set -euo pipefail
if [[ ${1:-} == -h || ${1:-} == --help ]]; then
  echo "Usage: scripts/image-setup.sh   (as root) installs mmdebstrap, mtools, dosfstools, fdisk, bmap-tools, qemu-system-x86, ovmf"
  exit 0
fi
packages=(mmdebstrap e2fsprogs dosfstools mtools fdisk bmap-tools binutils qemu-system-x86 qemu-utils ovmf)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# qemu-utils must match qemu-system-x86's suite (see above).
utils=$(dpkg-query -W -f='${Version}' qemu-utils 2>/dev/null || true)
if [[ $utils == *bpo* ]]; then
  missing+=("qemu-utils/bookworm")
fi
if ((${#missing[@]})); then
  echo "image-setup: installing ${missing[*]}"
  sudo_cmd=()
  [[ $(id -u) -eq 0 ]] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends \
    --allow-downgrades "${missing[@]}" >/dev/null
fi
