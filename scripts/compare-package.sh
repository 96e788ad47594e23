#!/usr/bin/env bash
# Show packages against tar of the same files. The session holds GB
# gigabytes of WAV media (default 2) in files of 128 MB. Prints, each with
# tar's figure and the ratio:
#   export   hostctl package export (every media file BLAKE3-verified while
#            packed, the package fsynced and renamed into place) vs
#            `tar cf` of the session folder, then `sync`
#   import   hostctl package import into a new folder (every entry checked,
#            hashed while staged, placed by rename, syncfs) vs `tar xf`,
#            then `sync`
#
#   scripts/compare-package.sh [GB]
set -euo pipefail
cd "$(dirname "$0")/.."
gb=${1:-2}
cargo build --release -q -p hostctl
bin=${CARGO_TARGET_DIR:-$PWD/target}/release
tmp=$(mktemp -d -p /var/tmp)
trap 'rm -rf "$tmp"' EXIT

files=$((gb * 8))
echo "== making a $gb GB session ($files files of 128 MB)"
"$bin/hostctl" session new "$tmp/show" --media "$tmp/show/media" >/dev/null 2>&1
for i in $(seq "$files"); do
  # 128 MB of 24-bit stereo noise, 466 s at 48 kHz, unlike every other file
  # (sox seeds its noise at random without -R: identical files would be
  # packed once).
  sox -n -r 48000 -b 24 -c 2 "$tmp/show/media/take$i.wav" synth 466 whitenoise gain -20 2>/dev/null
  row=$(((i - 1) / 8 + 1)) col=$(((i - 1) % 8 + 1))
  "$bin/hostctl" clip add "$tmp/show" "$tmp/show/media/take$i.wav" --at "$row,$col" --group A >/dev/null 2>&1
done
bytes=$(du -sb "$tmp/show" | cut -f1)

# Wall time of a command and a sync after it, in seconds.
seconds() {
  python3 -c 'import sys,time,subprocess,os; t=time.monotonic(); subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL); os.sync(); print(f"{time.monotonic()-t:.3f}")' "$@"
}
ratio() { python3 -c "print(f'{$1 / $2:.2f}')"; }

sync
export_s=$(seconds "$bin/hostctl" package export "$tmp/show" -o "$tmp/show.pkg.tar")
tar_c=$(seconds tar cf "$tmp/show.plain.tar" -C "$tmp" show)
mkdir "$tmp/plain"
import_s=$(seconds "$bin/hostctl" package import "$tmp/show.pkg.tar" "$tmp/imported")
tar_x=$(seconds tar xf "$tmp/show.plain.tar" -C "$tmp/plain")
"$bin/hostctl" session validate "$tmp/imported" --hashes >/dev/null

pkg_bytes=$(stat -c %s "$tmp/show.pkg.tar")
tar_bytes=$(stat -c %s "$tmp/show.plain.tar")
printf '\n%s bytes of session and media; package %s bytes, tar %s bytes\n' "$bytes" "$pkg_bytes" "$tar_bytes"
printf '%-8s %12s %12s %8s\n' "" "hostctl s" "tar s" "ratio"
printf '%-8s %12s %12s %8s\n' export "$export_s" "$tar_c" "$(ratio "$export_s" "$tar_c")"
printf '%-8s %12s %12s %8s\n' import "$import_s" "$tar_x" "$(ratio "$import_s" "$tar_x")"
