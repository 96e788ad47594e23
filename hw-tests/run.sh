#!/usr/bin/env bash
# Runs the hardware tests: on the appliance image booted under QEMU (TCG),
# or on a real box over ssh. See docs/image.md ("Hardware tests").
set -euo pipefail

usage() {
  cat <<'EOF'
Usage: hw-tests/run.sh [--image DIR] [--bin DIR] [--out DIR] [--timeout S]
       hw-tests/run.sh --box ADDR [--ssh USER@HOST] [--with-binaries] [--bin DIR] [--out DIR]

Boots the appliance image (scripts/image-build.sh's output, DIR default
build/image) under QEMU with the workspace's freshly built cueboxd on a second
drive (the image is not rebuilt; a copy-on-write overlay keeps it pristine),
runs hw-tests/guest.sh inside, and checks the results:

  setup         the fresh cueboxd bound over the image's; snd-aloop, snd-dummy,
                snd-virmidi, snd-seq loaded
  boot          PREEMPT_RT, the real-time kernel command line, an isolated core,
                read-only root, data layout, fingerprint on the console,
                cueboxd.service up with sd_notify, no failed unit, sound IRQ
                threads above rt-out
  system-check  cueboxd system check: no FAIL
  play          cueboxd run into snd-aloop, the other side recorded with arecord,
                bit-exact against cueboxd render of the same show
  mtc           MTC from a virtual MIDI port (snd-virmidi) locks cueboxd's clock
                and fires a timecode cue
  ltc           LTC played into the loopback, decoded by cueboxd's capture thread,
                fires a timecode cue
  network       hostctl on this machine pairs with the box (fingerprint from its
                console), pushes a session, GOes a clip; the box's output is
                recorded and compared bit-exact with cueboxd render
  privileges    the service plays as the cuebox user with CAP_SYS_NICE and
                CAP_IPC_LOCK only, no_new_privs and a system call filter; rt-out
                SCHED_FIFO 80, memory locked; systemd-analyze security's score
  firewall      two network namespaces in the guest: from the show networks the
                API, OSC over TCP and UDP reach cueboxd, from elsewhere nothing;
                a bad SHOW_NETWORKS is named and the private networks let in
  pair          cuebox.conf's PAIR=main (a backup that is not there) with a
                control address: the service becomes main and, through keepalived
                in its sandbox, puts the address on the interface
  latency       cyclictest on the audio core: reported, never asserted

Options:
  --image DIR       the image build folder (default: build/image)
  --bin DIR         where cueboxd and hostctl are (default: ${CARGO_TARGET_DIR:-target}/release)
  --out DIR         work and results folder (default: build/hw-tests)
  --timeout S       give up on the guest after S seconds (default: 900)
  --box ADDR        test a real box at ADDR instead (cueboxd API on ADDR:53100,
                    ssh as root@ADDR; the box needs SSH=yes in /data/cuebox.conf and
                    this machine's key in /data/ssh/authorized_keys)
  --ssh USER@HOST   ssh destination when it differs from root@ADDR
  --with-binaries   with --box: run the workspace's cueboxd on the box (bound over
                    its own for the test only) instead of the box's
  -h, --help        this text

Exit status: 0 when every test passed, 1 when one failed, 2 for bad usage.
EOF
}

cd "$(dirname "$0")/.."
image=build/image
bin=${CARGO_TARGET_DIR:-target}/release
out=build/hw-tests
timeout=900
box=
ssh_dest=
with_binaries=0
while (($#)); do
  case $1 in
    --image) image=$2; shift 2 ;;
    --bin) bin=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --timeout) timeout=$2; shift 2 ;;
    --box) box=$2; shift 2 ;;
    --ssh) ssh_dest=$2; shift 2 ;;
    --with-binaries) with_binaries=1; shift ;;
    -h | --help) usage; exit 0 ;;
    *) echo "hw-tests: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
t0=$(date +%s)
step() { echo "== hw-tests: $* (+$(($(date +%s) - t0)) s)"; }

for b in cueboxd hostctl; do
  [[ -x $bin/$b ]] || {
    echo "hw-tests: $bin/$b missing: cargo build --release --locked -p cueboxd -p hostctl (or --bin DIR)" >&2
    exit 1
  }
done
if [[ -z $box ]]; then
  for f in cuebox.qcow2 vmlinuz initrd.img cmdline; do
    [[ -e $image/$f ]] || {
      echo "hw-tests: $image/$f missing: build the image with scripts/image-build.sh (or --image DIR)" >&2
      exit 1
    }
  done
  command -v qemu-system-x86_64 > /dev/null || {
    echo "hw-tests: qemu-system-x86_64 missing: scripts/image-setup.sh installs it" >&2
    exit 1
  }
fi
cueboxd=$(realpath "$bin/cueboxd")
hostctl=$(realpath "$bin/hostctl")
rm -rf "$out"
mkdir -p "$out"
out=$(realpath "$out")
bundle=$out/bundle
host_dir=$out/host
mkdir -p "$bundle/bin" "$bundle/sessions" "$host_dir"
export CUEBOX_HOST_DIR=$host_dir

# ---- the bundle: guest script, tools, sessions, media ---------------------------
step "making the test bundle"
cp hw-tests/guest.sh "$bundle/"
cc -O2 -Wall -o "$bundle/bin/mtc-send" hw-tests/tools/mtc-send.c -lasound
if [[ -z $box || $with_binaries == 1 ]]; then
  objcopy --strip-debug "$cueboxd" "$bundle/bin/cueboxd"
fi
"$hostctl" key > "$bundle/host.key"
python3 hw-tests/sessions.py "$hostctl" "$cueboxd" "$bundle/sessions"

# ---- run guest.sh: under QEMU, or on the box over ssh ------------------------------
log=$out/console.log
: > "$log"
if [[ -z $box ]]; then
  step "test drive and a copy-on-write overlay of the image"
  mkfs.ext4 -q -L CUEBOX-TEST -d "$bundle" "$out/test.img" 512M
  # 1 GiB larger than the image, as a box's disk is: first boot grows /data into it.
  size=$(($(qemu-img info --output=json "$image/cuebox.qcow2" | python3 -c 'import json,sys; print(json.load(sys.stdin)["virtual-size"])') + (1 << 30)))
  qemu-img create -q -f qcow2 -F qcow2 -b "$(realpath "$image/cuebox.qcow2")" "$out/disk.qcow2" "$size"
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  api=127.0.0.1:$port
  # The image's own kernel command line, plus a serial console and the test:
  # systemd's run generator mounts the test drive and runs guest.sh, then powers off.
  run="/bin/sh -c 'mount LABEL=CUEBOX-TEST /mnt && exec /mnt/guest.sh /mnt qemu >/dev/ttyS0 2>&1'"
  # The serial console carries the test's output: no login prompt there (agetty
  # hangs up every other user of the tty).
  append="$(cat "$image/cmdline") console=ttyS0 systemd.mask=serial-getty@ttyS0.service systemd.run=\"$run\" systemd.run_success_action=poweroff systemd.run_failure_action=poweroff"
  step "booting the image under QEMU (TCG, 2 CPUs; API forwarded to $api)"
  qemu-system-x86_64 -machine q35 -accel tcg -cpu max -smp 2 -m 1536 -nodefaults \
    -display none -monitor none -serial "file:$log" -no-reboot \
    -kernel "$image/vmlinuz" -initrd "$image/initrd.img" -append "$append" \
    -drive "file=$out/disk.qcow2,if=virtio,format=qcow2" \
    -drive "file=$out/test.img,if=virtio,format=raw" \
    -netdev "user,id=n0,hostfwd=tcp:$api-:53100" -device virtio-net-pci,netdev=n0 \
    -audiodev none,id=snd0 -device intel-hda -device hda-duplex,audiodev=snd0 &
  runner=$!
else
  api=$box
  ssh_dest=${ssh_dest:-root@$box}
  ssh_opts=(-o BatchMode=yes -o ConnectTimeout=10)
  step "copying the bundle to $ssh_dest:/data/hwtest"
  ssh "${ssh_opts[@]}" "$ssh_dest" 'rm -rf /data/hwtest && mkdir -p /data/hwtest'
  tar -C "$bundle" -cf - . | ssh "${ssh_opts[@]}" "$ssh_dest" 'tar -C /data/hwtest -xf -'
  step "running the tests on $box"
  ssh "${ssh_opts[@]}" "$ssh_dest" 'bash /data/hwtest/guest.sh /data/hwtest box' > "$log" 2>&1 &
  runner=$!
fi
cleanup() { kill "$runner" 2> /dev/null || true; }
trap cleanup EXIT

# The box switches to a pushed session when nothing plays: GO once it has
# (for up to a minute; a refusal before that says "no session is playing").
go_when_playing() {
  local i
  for ((i = 0; i < 60; i++)); do
    "$hostctl" go hwtest-box c1 && return 0
    sleep 1
  done
  return 1
}

# Follow the console: print the test lines, do the host's step when asked.
host_step_done=0
boot_reported=0
seen=0
deadline=$((t0 + timeout))
while kill -0 "$runner" 2> /dev/null; do
  if (($(date +%s) > deadline)); then
    echo "hw-tests: the guest did not finish within $timeout s; its console is $log" >&2
    exit 1
  fi
  mapfile -t lines < <(tail -n +$((seen + 1)) "$log" | tr -d '\r')
  # Only whole lines (the last may still be written).
  if ((${#lines[@]})) && [[ $(tail -c 1 "$log") != "" ]]; then unset 'lines[-1]'; fi
  for line in "${lines[@]}"; do
    seen=$((seen + 1))
    if ((!boot_reported)) && [[ $line == *"box key fingerprint"* ]]; then
      step "booted: ${line#*cuebox: }"
      boot_reported=1
    fi
    [[ $line == *"HWTEST "* ]] || continue
    echo "   ${line#*HWTEST }"
    if [[ $line == *"HOST-STEP network "* && $host_step_done == 0 ]]; then
      host_step_done=1
      fp=${line##* }
      step "host: hostctl pair $api --fingerprint $fp, push, go"
      {
        "$hostctl" pair "$api" --name hwtest-box --fingerprint "$fp" &&
          "$hostctl" push "$bundle/sessions/play" --to hwtest-box --name hwtest-net &&
          go_when_playing
      } > "$out/host-step.txt" 2>&1 || echo "   host step failed: $(tail -n 3 "$out/host-step.txt" | paste -sd' ' -)"
    fi
  done
  sleep 0.5
done
wait "$runner" || true
trap - EXIT
step "guest finished"

# ---- results: fetch, check audio against cueboxd render, summarize ------------------
results=$out/results
if [[ -z $box ]]; then
  debugfs -R "rdump /results $out" "$out/test.img" > /dev/null 2>&1 || true
else
  ssh "${ssh_opts[@]}" "$ssh_dest" 'tar -C /data/hwtest -cf - results' | tar -C "$out" -xf -
fi
[[ -d $results ]] || {
  echo "hw-tests: no results came back; the console is $log" >&2
  exit 1
}
step "checking the recordings against cueboxd render"
python3 hw-tests/check.py "$cueboxd" "$bundle/sessions" "$results"
echo
printf '%-14s %-7s %8s  %s\n' test result time detail
fail=0
for t in setup boot system-check play mtc ltc network privileges firewall pair latency; do
  if [[ -s $results/$t.result ]]; then
    read -r status secs detail < "$results/$t.result"
  else
    status=MISSING secs=- detail="no result (see $log)"
  fi
  printf '%-14s %-7s %7ss  %s\n' "$t" "$status" "$secs" "$detail"
  [[ $status == PASS || $status == REPORT || $status == SKIP ]] || fail=1
done
step "done; console $log, artifacts $results"
exit "$fail"
