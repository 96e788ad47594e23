#!/usr/bin/env bash
# Session push against rsync over the same veth link between two network
# namespaces: the box (cueboxd, idle, listening) in one, the host in the
# other. The session holds GB gigabytes of WAV media (default 2) in files
# of 256 MB. Prints, each with rsync's figure and the ratio:
#   first push   hostctl push (TLS 1.3, every file BLAKE3-verified and
#                fsynced on arrival, atomic activation) vs `rsync -a` of the
#                same folder to an rsync daemon (no encryption, no fsync)
#   re-push      the unchanged session again vs rsync of the unchanged tree
#
#   scripts/compare-rsync.sh [GB]
set -euo pipefail
cd "$(dirname "$0")/.."
gb=${1:-2}
cargo build --release -q -p cueboxd -p hostctl
bin=$PWD/target/release
tmp=$(mktemp -d -p /var/tmp)
tag=cbr$$
box_pid=
rsyncd=
cleanup() {
  [[ -n $box_pid ]] && kill "$box_pid" 2>/dev/null
  [[ -n $rsyncd ]] && kill "$rsyncd" 2>/dev/null
  wait 2>/dev/null || true
  scripts/lib/ptp-netns.sh down "$tag"
  rm -rf "$tmp"
}
trap cleanup EXIT
export CUEBOX_HOST_DIR=$tmp/host
source scripts/lib/box.sh
scripts/lib/ptp-netns.sh up "$tag"
box_ip=$(ip -n "$tag-gm" -4 -o addr show dev "$tag-g" | awk '{print $4}' | cut -d/ -f1)
in_box=(ip netns exec "$tag-gm")
in_host=(ip netns exec "$tag-sl")

files=$((gb * 4))
echo "== making a $gb GB session ($files files of 256 MB)"
"$bin/hostctl" session new "$tmp/show" --media "$tmp/show/media" >/dev/null
mkdir -p "$tmp/src"
for i in $(seq "$files"); do
  # 256 MB of 24-bit stereo noise, 932 s at 48 kHz, unlike every other file
  # (sox seeds its noise at random without -R: identical files would be
  # stored and sent once).
  sox -n -r 48000 -b 24 -c 2 "$tmp/src/take$i.wav" synth 932 whitenoise gain -20 2>/dev/null
  row=$(((i - 1) / 8 + 1)) col=$(((i - 1) % 8 + 1))
  "$bin/hostctl" clip add "$tmp/show" "$tmp/src/take$i.wav" --at "$row,$col" --group A >/dev/null
  rm "$tmp/src/take$i.wav"
done
bytes=$(du -sb "$tmp/show/media" | cut -f1)

box_start "$tmp/box" "$box_ip" "${in_box[@]}"
box_pair "$tmp/box" "$box_ip" "${in_host[@]}"

# Wall time of a command, its output appended to $tmp/transfers.log.
seconds() {
  python3 -c 'import sys,time,subprocess; t=time.monotonic(); subprocess.run(sys.argv[2:], check=True, stdout=open(sys.argv[1], "a")); print(f"{time.monotonic()-t:.3f}")' "$tmp/transfers.log" "$@"
}

sync
push1=$(seconds "${in_host[@]}" "$bin/hostctl" push "$tmp/show" --to bench)
push2=$(seconds "${in_host[@]}" "$bin/hostctl" push "$tmp/show" --to bench)

mkdir -p "$tmp/rsync-dest"
cat > "$tmp/rsyncd.conf" <<CONF
use chroot = no
[box]
  path = $tmp/rsync-dest
  read only = no
  uid = root
  gid = root
CONF
"${in_box[@]}" rsync --daemon --no-detach --port 8730 --config "$tmp/rsyncd.conf" &
rsyncd=$!
sleep 0.5
sync
rsync1=$(seconds "${in_host[@]}" rsync -a --stats "$tmp/show/" "rsync://$box_ip:8730/box/show/")
rsync2=$(seconds "${in_host[@]}" rsync -a "$tmp/show/" "rsync://$box_ip:8730/box/show/")

echo "== what each push reported"
cat "$tmp/transfers.log"
python3 - "$bytes" "$push1" "$rsync1" "$push2" "$rsync2" <<'PY'
import sys
b, p1, r1, p2, r2 = int(sys.argv[1]), *map(float, sys.argv[2:])
mb = b / 1e6
print(f"session: {mb:.0f} MB of media over a veth pair")
print(f"first push   hostctl {p1:7.2f} s ({mb/p1:6.0f} MB/s)   rsync {r1:7.2f} s ({mb/r1:6.0f} MB/s)   hostctl/rsync time ratio {p1/r1:.2f}")
print(f"re-push      hostctl {p2:7.3f} s                 rsync {r2:7.3f} s                 ratio {p2/r2:.2f}")
PY
