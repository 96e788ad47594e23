#!/usr/bin/env bash
# Builds the cuebox appliance image: Debian bookworm with the PREEMPT_RT
# kernel, cueboxd as a systemd service, a read-only root and a data partition.
# See docs/image.md. Run as root (mmdebstrap chroots; mkfs needs no loop device).
set -euo pipefail

usage() {
  cat <<'EOF'
Usage: scripts/image-build.sh [--out DIR] [--cache DIR] [--cueboxd FILE] [--mirror URL] [--no-setup]

Builds the appliance disk image in one command:
  OUT/cuebox.img        raw GPT disk (EFI system partition, read-only root, data)
  OUT/cuebox.img.bmap   block map for bmaptool copy (writes only the used blocks)
  OUT/cuebox.qcow2      the same disk for QEMU
  OUT/vmlinuz, OUT/initrd.img, OUT/cmdline   the image's kernel, initrd and
                        kernel command line (hw-tests boots them directly)
  OUT/packages.txt      every package and version in the root file system

Options:
  --out DIR       output folder (default: build/image)
  --cache DIR     cache: apt archives and the base root tarball, keyed by the
                  recipe's hash (default: $CUEBOX_IMAGE_CACHE or ~/.cache/cuebox-image)
  --cueboxd FILE  the cueboxd binary to install (default: build it with
                  cargo build --release --locked -p cueboxd)
  --mirror URL    Debian mirror (default: http://deb.debian.org/debian; a
                  snapshot.debian.org URL pins every package for a bit-for-bit rebuild)
  --no-setup      do not apt-get install the build tools (mmdebstrap, mtools, ...)
  -h, --help      this text

What is cached: apt's downloaded .debs (so a rebuilt base downloads nothing it
has), and the base root file system (images/base/*) as a tarball named by the
hash of the recipe; the overlay (images/rootfs/), cueboxd and the partitions
are redone each time (seconds).
EOF
}

cd "$(dirname "$0")/.."
repo=$PWD
out=build/image
cache=${CUEBOX_IMAGE_CACHE:-$HOME/.cache/cuebox-image}
cueboxd=
mirror=http://deb.debian.org/debian
setup=1
while (($#)); do
  case $1 in
    --out) out=$2; shift 2 ;;
    --cache) cache=$2; shift 2 ;;
    --cueboxd) cueboxd=$2; shift 2 ;;
    --mirror) mirror=$2; shift 2 ;;
    --no-setup) setup=0; shift ;;
    -h | --help) usage; exit 0 ;;
    *) echo "image-build: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
if [[ $(id -u) -ne 0 ]]; then
  echo "image-build: run as root (mmdebstrap needs to chroot; try: sudo $0 $*)" >&2
  exit 1
fi

t0=$(date +%s)
step() { echo "== image: $* (+$(($(date +%s) - t0)) s)"; }

if ((setup)); then
  bash scripts/image-setup.sh
fi

# Fixed identities, so two builds of the same recipe give the same disk
# layout (and hw-tests and docs can name partitions).
disk_uuid=8c2a6a5e-5c1b-4f7e-9d61-3b7f2a0c0001
esp_uuid=8c2a6a5e-5c1b-4f7e-9d61-3b7f2a0c0002
root_partuuid=8c2a6a5e-5c1b-4f7e-9d61-3b7f2a0c0003
data_partuuid=8c2a6a5e-5c1b-4f7e-9d61-3b7f2a0c0004
root_fsuuid=8c2a6a5e-5c1b-4f7e-9d61-3b7f2a0c0013
data_fsuuid=8c2a6a5e-5c1b-4f7e-9d61-3b7f2a0c0014
esp_volid=C0EB0001
# Every timestamp the tools write (mmdebstrap, mkfs.ext4, mtools) is this.
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git -C "$repo" log -1 --format=%ct -- images 2>/dev/null || echo 1700000000)}

# ---- cueboxd -----------------------------------------------------------------
if [[ -z $cueboxd ]]; then
  step "building cueboxd"
  export PATH="$HOME/.cargo/bin:$PATH"
  cargo build --release --locked -p cueboxd
  cueboxd=${CARGO_TARGET_DIR:-target}/release/cueboxd
fi
[[ -x $cueboxd ]] || { echo "image-build: $cueboxd is not an executable cueboxd (build it, or pass --cueboxd)" >&2; exit 1; }

# ---- stage 1: the base root file system, cached by the recipe's hash ----------
mkdir -p "$cache/apt" "$out"
out=$(realpath "$out")
recipe_hash=$( (cat images/base/packages images/base/hook.sh; echo "$mirror") | sha256sum | cut -c1-16)
base=$cache/base-$recipe_hash.tar
part=$cache/base-$recipe_hash.part.tar # mmdebstrap picks the format by the name's ending
if [[ -s $base ]]; then
  step "base root file system cached ($base)"
else
  step "building the base root file system with mmdebstrap (recipe $recipe_hash)"
  packages=$(grep -v '^#' images/base/packages | grep . | paste -sd, -)
  # The apt archive cache goes in before and comes back out after, so a
  # rebuild of the base downloads only what changed.
  mmdebstrap --variant=minbase --include="$packages" \
    --components=main --aptopt='Acquire::Retries "3"' \
    --skip=download/empty \
    --setup-hook='mkdir -p "$1"/var/cache/apt/archives' \
    --setup-hook="sync-in $cache/apt /var/cache/apt/archives" \
    --customize-hook="sync-out /var/cache/apt/archives $cache/apt" \
    --customize-hook="$repo/images/base/hook.sh \"\$1\"" \
    bookworm "$part" "deb $mirror bookworm main" \
    "deb $mirror bookworm-updates main" "deb http://deb.debian.org/debian-security bookworm-security main"
  mv "$part" "$base"
  # Keep the newest base only: the recipe moved on.
  find "$cache" -maxdepth 1 -name 'base-*.tar' ! -name "base-$recipe_hash.tar" -delete
fi

# ---- stage 2: the root: base + overlay + cueboxd -------------------------------
work=$out/work
rm -rf "$work"
mkdir -p "$work/root" "$work/esp" "$work/data"
step "unpacking the base"
tar --xattrs --xattrs-include='*' --numeric-owner -xpf "$base" -C "$work/root"
step "applying the overlay (images/rootfs) and cueboxd"
cp -a images/rootfs/. "$work/root/"
# Debug info stays on the build machine: the box gets the stripped binary.
objcopy --strip-debug "$cueboxd" "$work/root/usr/bin/cueboxd"
chmod 755 "$work/root/usr/bin/cueboxd"
bash images/customize.sh "$work/root"
# File times from the checkout and this build are clamped to SOURCE_DATE_EPOCH,
# so mkfs.ext4 -d writes the same inodes from any clone.
find "$work/root" -newermt "@$SOURCE_DATE_EPOCH" -print0 | xargs -0r touch --no-dereference -d "@$SOURCE_DATE_EPOCH"

kernel=$(cd "$work/root/boot" && ls vmlinuz-* | sort -V | tail -n 1)
version=${kernel#vmlinuz-}
cp "$work/root/boot/$kernel" "$out/vmlinuz"
cp "$work/root/boot/initrd.img-$version" "$out/initrd.img"
chroot "$work/root" dpkg-query -W -f='${Package} ${Version}\n' > "$out/packages.txt"

# The kernel command line: CPU 1 isolated for audio, IRQs on CPU 0 (right for
# a 2-core box). The box rewrites it from its cuebox.conf at first boot
# (AUDIO_CORES=auto: the last CPU) and reboots once if the isolation changes.
# Not the kernel's "N" (last CPU): at isolcpus= parse time N is NR_CPUS-1,
# which no box has, and the kernel silently isolates nothing.
# shellcheck source=../images/rootfs/usr/lib/cuebox/cmdline.sh
source images/rootfs/usr/lib/cuebox/cmdline.sh
cmdline="root=PARTUUID=$root_partuuid ro $(cuebox_rt_cmdline 1 0)"
echo "$cmdline" > "$out/cmdline"

# ---- stage 3: the partitions and the disk --------------------------------------
step "EFI system partition (systemd-boot, kernel $version)"
esp_mib=256
rm -f "$work/esp.img"
mkfs.fat -C -F 32 -n CUEBOX-EFI -i "$esp_volid" "$work/esp.img" $((esp_mib * 1024)) >/dev/null
export MTOOLS_SKIP_CHECK=1
mmd -i "$work/esp.img" ::/EFI ::/EFI/BOOT ::/loader ::/loader/entries
mcopy -i "$work/esp.img" "$work/root/usr/lib/systemd/boot/efi/systemd-bootx64.efi" ::/EFI/BOOT/BOOTX64.EFI
mcopy -i "$work/esp.img" "$out/vmlinuz" ::/vmlinuz
mcopy -i "$work/esp.img" "$out/initrd.img" ::/initrd.img
printf 'default cuebox.conf\ntimeout 0\nconsole-mode keep\n' > "$work/loader.conf"
mcopy -i "$work/esp.img" "$work/loader.conf" ::/loader/loader.conf
printf 'title cuebox\nlinux /vmlinuz\ninitrd /initrd.img\noptions %s\n' "$cmdline" > "$work/cuebox.conf"
mcopy -i "$work/esp.img" "$work/cuebox.conf" ::/loader/entries/cuebox.conf

step "root file system (ext4, mounted read-only)"
root_kib=$(du -sk --apparent-size "$work/root" | cut -f1)
root_mib=$(((root_kib * 115 / 100) / 1024 + 64))
rm -f "$work/root.img"
mkfs.ext4 -q -L CUEBOX-ROOT -U "$root_fsuuid" -E "hash_seed=$root_fsuuid,root_owner=0:0" \
  -O ^has_journal -d "$work/root" "$work/root.img" "${root_mib}M"

step "data partition (ext4: cuebox.conf; the rest is made on first boot)"
data_mib=512
cp images/cuebox.conf "$work/data/cuebox.conf"
rm -f "$work/data.img"
mkfs.ext4 -q -L CUEBOX-DATA -U "$data_fsuuid" -E "hash_seed=$data_fsuuid,root_owner=0:0" \
  -d "$work/data" "$work/data.img" "${data_mib}M"

step "GPT disk"
img=$out/cuebox.img
rm -f "$img" "$img.bmap" "$out/cuebox.qcow2"
total_mib=$((1 + esp_mib + root_mib + data_mib + 1))
truncate -s "${total_mib}M" "$img"
sfdisk -q "$img" <<EOF
label: gpt
label-id: $disk_uuid
first-lba: 2048
start=1MiB, size=${esp_mib}MiB, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B, uuid=$esp_uuid, name=CUEBOX-EFI
size=${root_mib}MiB, type=4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709, uuid=$root_partuuid, name=CUEBOX-ROOT
size=${data_mib}MiB, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4, uuid=$data_partuuid, name=CUEBOX-DATA
EOF
offset=1
for part in esp root data; do
  dd if="$work/$part.img" of="$img" bs=1M seek=$offset conv=notrunc,sparse status=none
  size=$(($(stat -c %s "$work/$part.img") / 1048576))
  offset=$((offset + size))
done
bmaptool -q create -o "$img.bmap" "$img"
qemu-img convert -f raw -O qcow2 "$img" "$out/cuebox.qcow2"
rm -rf "$work"
step "done: $out/cuebox.img (${total_mib} MiB), $out/cuebox.qcow2, $out/cuebox.img.bmap; kernel $version"
echo "$version" > "$out/kernel-version"
