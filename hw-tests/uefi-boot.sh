#!/usr/bin/env bash
# Boots the appliance disk the way a box does — UEFI firmware (OVMF), then
# systemd-boot from the EFI system partition, then the kernel with the boot
# entry's command line — and checks that cueboxd answers on the network with
# the key it made on first boot, and that the serial console, with the default
# cuebox.conf, gives no root shell (docs/security.md). No test drive, no direct
# kernel boot: the disk alone (a copy-on-write overlay of it).
set -euo pipefail

usage() {
  cat <<'EOF'
Usage: hw-tests/uefi-boot.sh [--image DIR] [--bin DIR] [--out DIR] [--timeout S]

  --image DIR   the image build folder (default: build/image)
  --bin DIR     where hostctl is (default: ${CARGO_TARGET_DIR:-target}/release)
  --out DIR     work folder (default: build/uefi-boot)
  --timeout S   give up after S seconds (default: 600)
Exit status 0 when the box answered hostctl over the network and its serial
console logged no one in: no automatic login, and "root" typed at its login
prompt gets no shell.
EOF
}
cd "$(dirname "$0")/.."
image=build/image
bin=${CARGO_TARGET_DIR:-target}/release
out=build/uefi-boot
timeout=600
while (($#)); do
  case $1 in
    --image) image=$2; shift 2 ;;
    --bin) bin=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --timeout) timeout=$2; shift 2 ;;
    -h | --help) usage; exit 0 ;;
    *) echo "uefi-boot: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
firmware=/usr/share/OVMF/OVMF_CODE_4M.fd
vars=/usr/share/OVMF/OVMF_VARS_4M.fd
[[ -r $firmware ]] || { echo "uefi-boot: $firmware missing: apt-get install ovmf (scripts/image-setup.sh)" >&2; exit 1; }
[[ -x $bin/hostctl ]] || { echo "uefi-boot: $bin/hostctl missing: cargo build --release -p hostctl (or --bin DIR)" >&2; exit 1; }
[[ -e $image/cuebox.qcow2 ]] || { echo "uefi-boot: $image/cuebox.qcow2 missing: scripts/image-build.sh" >&2; exit 1; }
rm -rf "$out"
mkdir -p "$out"
out=$(realpath "$out")
t0=$(date +%s)
cp "$vars" "$out/vars.fd"
qemu-img create -q -f qcow2 -F qcow2 -b "$(realpath "$image/cuebox.qcow2")" "$out/disk.qcow2"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
echo "== uefi-boot: OVMF -> systemd-boot -> kernel -> cueboxd, API forwarded to 127.0.0.1:$port"
qemu-system-x86_64 -machine q35 -accel tcg -cpu max -smp 2 -m 1536 -nodefaults \
  -display none -monitor none \
  -chardev "socket,id=ser0,path=$out/serial.sock,server=on,wait=off,logfile=$out/console.log" -serial chardev:ser0 \
  -drive "if=pflash,format=raw,unit=0,readonly=on,file=$firmware" \
  -drive "if=pflash,format=raw,unit=1,file=$out/vars.fd" \
  -drive "file=$out/disk.qcow2,if=virtio,format=qcow2" \
  -netdev "user,id=n0,hostfwd=tcp:127.0.0.1:$port-:53100" -device virtio-net-pci,netdev=n0 &
qemu=$!
trap 'kill $qemu 2>/dev/null || true' EXIT
export CUEBOX_HOST_DIR=$out/host
until "$bin/hostctl" pair "127.0.0.1:$port" --name uefi-box --yes --json > "$out/pair.json" 2> "$out/pair.err"; do
  if ! kill -0 "$qemu" 2> /dev/null; then
    echo "uefi-boot: QEMU exited before cueboxd answered (console: $out/console.log)" >&2
    exit 1
  fi
  if (($(date +%s) - t0 > timeout)); then
    echo "uefi-boot: cueboxd did not answer within $timeout s; last: $(tail -n 1 "$out/pair.err")" >&2
    exit 1
  fi
  sleep 3
done
echo "== uefi-boot: cueboxd answered after $(($(date +%s) - t0)) s: $(cat "$out/pair.json")"

# The serial console: a login prompt, no automatic login; "root" typed there
# and then a command in place of the password gets "Login incorrect", and the
# command never runs (a shell would print SHELL-42).
log=$out/console.log
plain() { tr -d '\r' < "$log" | sed 's/\x1b\[[0-9;?]*[a-zA-Z]//g'; }
end=$(($(date +%s) + 240))
until plain | grep -aqE 'login: *$|automatic login|[#] *$'; do
  if (($(date +%s) > end)); then
    echo "uefi-boot: no login prompt on the serial console within 240 s (console: $log)" >&2
    exit 1
  fi
  # Enter wakes agetty's prompt if it was drawn before anyone looked.
  python3 hw-tests/console.py "$out/serial.sock" "$log" ""
  sleep 3
done
python3 hw-tests/console.py "$out/serial.sock" "$log" root
sleep 5
python3 hw-tests/console.py "$out/serial.sock" "$log" 'echo SHELL-$((6*7))'
sleep 8
python3 hw-tests/console.py "$out/serial.sock" "$log" 'echo SHELL-$((6*7))'
sleep 5
problems=()
plain | grep -aq 'automatic login' && problems+=("root was logged in automatically")
plain | grep -aq 'SHELL-42' && problems+=("a command typed on the serial console ran: a shell")
plain | grep -aq 'Login incorrect' || problems+=("no 'Login incorrect' after root")
if ((${#problems[@]})); then
  echo "uefi-boot: serial console: $(IFS=';'; echo "${problems[*]}") (console: $log)" >&2
  exit 1
fi
echo "== uefi-boot: the serial console logged no one in: no automatic login; root, then a command as the password: Login incorrect, nothing ran"
