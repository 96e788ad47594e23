#!/usr/bin/env bash
# The image as built, on the sound cards a box meets: the disk booted the way a
# box boots it (OVMF, then systemd-boot, then the kernel with the boot entry's
# command line; no kernel passed by hand, the default cuebox.conf but for
# SERIAL_LOGIN=root), once per card, driven from its serial console like a
# person at the box.
#
#   hda     an Intel HDA card (snd-hda-intel), recorded by QEMU's wav backend
#   usb     a class-compliant USB audio interface (snd-usb-audio, stereo)
#   multi   a USB audio interface with 8 outputs (usb-audio,multi=on)
#   none    no sound device at all: the box must say why it cannot play,
#           keep its API up, and not restart-loop, across a reboot typed on
#           its console
#
# See docs/image.md ("Hardware tests").
set -euo pipefail

usage() {
  cat <<'EOF'
Usage: hw-tests/cards.sh [--image DIR] [--bin DIR] [--out DIR] [--timeout S] [CASE...]

Boots the appliance disk (a copy-on-write overlay of DIR/cuebox.img with
SERIAL_LOGIN=root added to its /data/cuebox.conf: the serial console's root
login is off by default; 1 GiB larger, as a box's disk is) through OVMF and
systemd-boot once per CASE (default: hda usb multi none), with its serial
console on a Unix socket:

  hda, usb, multi  the fingerprint and root's automatic login on the serial
                   console; hostctl pairs with the fingerprint read there, the
                   host key is authorized by typing `cueboxd auth add` on the
                   console, a two-clip session (A, B) is pushed and GOne; then
                   `hostctl status --json` must show the device the box chose
                   (device.pcm, .channels, ...) and no problem, `poweroff`
                   typed on the console must power off cleanly, and QEMU's
                   recording of the card must hold sound (sound.py). multi
                   also checks the guest sees 8 channels and the box uses them;
                   Each also reads the screen (tty1's text, /dev/vcs1) for
                   the fingerprint; hda sets CARD= on the console: a card
                   that is not there must be named in status's problem,
                   CARD=0 plays again.
  none             the push must fail saying "cannot play"; status names the
                   problem; the console shows "cueboxd: cannot play"; the API
                   answers for 30 s; `reboot` typed on the console reboots;
                   the API answers again and cueboxd never restarted
                   (NRestarts 0, read on the console).

Options:
  --image DIR   the image build folder (default: build/image)
  --bin DIR     where hostctl and cueboxd are (default: ${CARGO_TARGET_DIR:-target}/release)
  --out DIR     work and results folder (default: build/hw-cards)
  --timeout S   longest wait for one boot (default: 600)
  -h, --help    this text

Prints one result line per case and a table; everything stays in OUT/CASE/
(console.log, the recording, status.json, hostctl's outputs).
Exit status: 0 when every case passed, 1 when one failed, 2 for bad usage.
EOF
}

cd "$(dirname "$0")/.."
repo=$PWD
image=build/image
bin=${CARGO_TARGET_DIR:-target}/release
out=build/hw-cards
timeout=600
cases=()
while (($#)); do
  case $1 in
    --image) image=$2; shift 2 ;;
    --bin) bin=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --timeout) timeout=$2; shift 2 ;;
    -h | --help) usage; exit 0 ;;
    hda | usb | multi | none) cases+=("$1"); shift ;;
    *) echo "cards: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
((${#cases[@]})) || cases=(hda usb multi none)
firmware=/usr/share/OVMF/OVMF_CODE_4M.fd
vars=/usr/share/OVMF/OVMF_VARS_4M.fd
[[ -r $firmware ]] || { echo "cards: $firmware missing: apt-get install ovmf (scripts/image-setup.sh)" >&2; exit 1; }
for b in hostctl cueboxd; do
  [[ -x $bin/$b ]] || { echo "cards: $bin/$b missing: cargo build --release --locked -p cueboxd -p hostctl (or --bin DIR)" >&2; exit 1; }
done
[[ -e $image/cuebox.img ]] || { echo "cards: $image/cuebox.img missing: scripts/image-build.sh" >&2; exit 1; }
command -v sox > /dev/null || { echo "cards: sox missing (apt-get install sox): it makes the test session's media" >&2; exit 1; }
hostctl=$(realpath "$bin/hostctl")
cueboxd=$(realpath "$bin/cueboxd")
image=$(realpath "$image")
rm -rf "$out"
mkdir -p "$out"
out=$(realpath "$out")
t_all=$(date +%s)
step() { echo "== cards: $* (+$(($(date +%s) - t_all)) s)"; }

# The disk these guests boot from: the image as built, with root's login on
# the serial console turned on in its data partition's cuebox.conf (the
# documented opt-in; this test types on that console).
step "the disk with SERIAL_LOGIN=root in /data/cuebox.conf"
disk=$out/cuebox-serial-login.img
cp --sparse=always "$image/cuebox.img" "$disk"
data_offset=$(sfdisk -J "$disk" | python3 -c 'import json, sys
t = json.load(sys.stdin)["partitiontable"]
print(next(p["start"] for p in t["partitions"] if p.get("name") == "CUEBOX-DATA") * t.get("sectorsize", 512))')
debugfs -R "cat /cuebox.conf" "$disk?offset=$data_offset" 2> /dev/null | sed '/^SERIAL_LOGIN=/d' > "$out/cuebox.conf"
echo SERIAL_LOGIN=root >> "$out/cuebox.conf"
debugfs -w -R "rm /cuebox.conf" "$disk?offset=$data_offset" > /dev/null 2>&1
debugfs -w -R "write $out/cuebox.conf /cuebox.conf" "$disk?offset=$data_offset" > /dev/null 2>&1
[[ $(debugfs -R "cat /cuebox.conf" "$disk?offset=$data_offset" 2> /dev/null | grep -c '^SERIAL_LOGIN=root$') == 1 ]] ||
  { echo "cards: could not write SERIAL_LOGIN=root into $disk's data partition" >&2; exit 1; }

step "making the test session (A: a tone, B: noise)"
python3 hw-tests/sessions.py "$hostctl" "$cueboxd" "$out/sessions" play
session=$out/sessions/play

# ---- one guest -------------------------------------------------------------------
# Per case: dir, log (the serial console), sock (typing into it), port (the
# API, forwarded), qemu (its pid), box (hostctl's name for it).
dir= log= sock= port= qemu= box=

boot() { # boot CASE QEMU-AUDIO-ARGS...: starts the guest in the background
  local name=$1
  shift
  dir=$out/$name
  mkdir -p "$dir"
  log=$dir/console.log
  sock=$dir/serial.sock
  box=cards-$name
  cp "$vars" "$dir/vars.fd"
  local size
  size=$(($(stat -c %s "$disk") + (1 << 30)))
  qemu-img create -q -f qcow2 -F raw -b "$disk" "$dir/disk.qcow2" "$size"
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  export CUEBOX_HOST_DIR=$dir/host
  : > "$log"
  qemu-system-x86_64 -machine q35 -accel tcg -cpu max -smp 2 -m 1536 -nodefaults \
    -display none -monitor none \
    -chardev "socket,id=ser0,path=$sock,server=on,wait=off,logfile=$log" -serial chardev:ser0 \
    -drive "if=pflash,format=raw,unit=0,readonly=on,file=$firmware" \
    -drive "if=pflash,format=raw,unit=1,file=$dir/vars.fd" \
    -drive "file=$dir/disk.qcow2,if=virtio,format=qcow2" \
    -netdev "user,id=n0,hostfwd=tcp:127.0.0.1:$port-:53100" -device virtio-net-pci,netdev=n0 \
    "$@" > "$dir/qemu.txt" 2>&1 &
  qemu=$!
}

stop_guest() { # the guest's QEMU, if it still runs (SIGTERM: QEMU closes its wav file)
  [[ -n $qemu ]] || return 0
  if kill -0 "$qemu" 2> /dev/null; then
    kill "$qemu" 2> /dev/null || true
    local i
    for ((i = 0; i < 20; i++)); do kill -0 "$qemu" 2> /dev/null || break; sleep 0.5; done
    kill -9 "$qemu" 2> /dev/null || true
  fi
  wait "$qemu" 2> /dev/null || true
  qemu=
}
trap stop_guest EXIT

# The console as text from byte FROM on (carriage returns and escapes dropped).
console_from() { tail -c "+$(($1 + 1))" "$log" | tr -d '\r' | sed 's/\x1b\[[0-9;?]*[a-zA-Z]//g'; }
log_size() { stat -c %s "$log"; }

# wait_console FROM REGEX SECONDS: prints the first match of REGEX (grep -E)
# in the console after byte FROM; 1 if none came in time or QEMU exited.
wait_console() {
  local from=$1 re=$2 end=$(($(date +%s) + $3)) m
  while :; do
    m=$(console_from "$from" | grep -aoE -m 1 "$re" | head -n 1 || true)
    [[ -n $m ]] && { echo "$m"; return 0; }
    kill -0 "$qemu" 2> /dev/null || return 1
    (($(date +%s) < end)) || return 1
    sleep 1
  done
}

type_line() { python3 "$repo/hw-tests/console.py" "$sock" "$log" "$@"; }

# ask NAME COMMAND: types `echo "NAME<$(COMMAND)>"` on the console and prints
# what came back between the brackets (the echo of the typed line has "$(" in
# it, so it never matches).
ask() {
  local name=$1 cmd=$2 from m
  from=$(log_size)
  type_line "echo \"$name<\$($cmd)>\""
  m=$(wait_console "$from" "$name<[^>\$]*>" 60) || return 1
  m=${m#"$name<"}
  echo "${m%>}"
}

# booted SECONDS [FROM]: waits for cuebox-data's fingerprint and root's
# automatic login on the serial console (after byte FROM); sets fp. 1 with the
# reason in `why`.
fp= why=
booted() {
  local from=${2:-0} line
  fp=
  # cuebox-data's own line (journald prefixes the unit's console lines with
  # it), not the login's repeat of it.
  if ! line=$(wait_console "$from" 'cuebox-data\[[0-9]+\]: cuebox: box key fingerprint: SHA256:[A-Za-z0-9+/=]+' "$1"); then
    if ! kill -0 "$qemu" 2> /dev/null; then
      why="QEMU exited before the fingerprint: $(tail -n 1 "$dir/qemu.txt")"
    else
      why="no fingerprint on the serial console within $1 s (last: $(console_from "$from" | grep -a . | tail -n 1 | cut -c1-120))"
    fi
    return 1
  fi
  fp=${line##*: }
  # agetty --autologin prints "<host> login: root (automatic login)"; then the
  # root shell's prompt.
  if ! wait_console "$from" 'login: root \(automatic login\)' 180 > /dev/null; then
    why="fingerprint $fp, but no root autologin on the serial console within 180 s"
    return 1
  fi
  wait_console "$from" '[#] *$|~# ' 60 > /dev/null || true
  sleep 2
}

pair() { # pairs with the fingerprint from the console; waits for the API
  local end=$(($(date +%s) + 300))
  until "$hostctl" pair "127.0.0.1:$port" --name "$box" --fingerprint "$fp" > "$dir/pair.txt" 2>&1; do
    kill -0 "$qemu" 2> /dev/null || return 1
    (($(date +%s) < end)) || return 1
    sleep 3
  done
}

authorize() { # the documented way: cueboxd auth add typed on the box's console
  local key r
  key=$("$hostctl" key 2> /dev/null)
  r=$(ask AUTH "cueboxd --root /data/cuebox auth add $key --role edit --comment hw-cards > /dev/null 2>&1; echo \$?") || return 1
  [[ $r == 0 ]]
}

# GO clip $1 until the pushed session plays (the box switches to it when ready).
go_when_playing() {
  local i
  for ((i = 0; i < 60; i++)); do
    "$hostctl" go "$box" "$1" >> "$dir/go.txt" 2>&1 && return 0
    sleep 1
  done
  return 1
}

# power_off: `poweroff` typed on the console; QEMU must exit by itself.
power_off() {
  local from end
  from=$(log_size)
  type_line poweroff
  end=$(($(date +%s) + 180))
  while kill -0 "$qemu" 2> /dev/null && (($(date +%s) < end)); do sleep 1; done
  console_from "$from" > "$dir/poweroff.console.txt"
  if kill -0 "$qemu" 2> /dev/null; then
    why="poweroff typed on the console: still running after 180 s"
    stop_guest
    return 1
  fi
  wait "$qemu" 2> /dev/null || true
  qemu=
  if grep -q 'Failed to connect to bus' "$dir/poweroff.console.txt"; then
    why="poweroff printed 'Failed to connect to bus'"
    return 1
  fi
}

# status_check FILE [CHANNELS]: the device the box chose is in status, and no
# problem. Prints a summary; 1 with the reason.
status_check() {
  python3 - "$1" "${2:-}" << 'PY'
import json, sys
path, want_ch = sys.argv[1], sys.argv[2]
try:
    s = json.load(open(path))
except Exception as e:
    print(f"status.json unreadable: {e}"); sys.exit(1)
dev = s.get("device")
if dev is None and isinstance(s.get("detail"), dict):
    dev = s["detail"].get("device")
bad = []
if not isinstance(dev, dict):
    bad.append("status has no device object")
    dev = {}
else:
    for k in ("pcm", "card", "channels", "format", "rate", "period", "periods", "warnings"):
        if k not in dev:
            bad.append(f"device.{k} missing")
    if want_ch and dev.get("channels") != int(want_ch):
        bad.append(f"device.channels {dev.get('channels')}, expected {want_ch}")
if "problem" not in s:
    bad.append("status has no problem field")
elif s["problem"] is not None:
    bad.append(f"problem: {s['problem']}")
if not s.get("playing"):
    bad.append("nothing playing")
summary = (f"device {dev.get('pcm')} ({dev.get('card')}) {dev.get('channels')} ch "
           f"{dev.get('format')} {dev.get('rate')} Hz {dev.get('period')}x{dev.get('periods')}; "
           f"warnings {dev.get('warnings')}; playing {[p.get('clip') for p in s.get('playing', [])]}")
print("; ".join(bad + [summary]) if bad else summary)
sys.exit(1 if bad else 0)
PY
}

join() { # join ITEMS...: "a; b; c"
  local IFS='|' s
  s="$*"
  echo "${s//|/; }"
}

results=()
result() { # result CASE STATUS SECONDS DETAIL
  results+=("$(printf '%-7s %-5s %6ss  %s' "$1" "$2" "$3" "$4")")
  echo "   $1: $2 ($3 s) $4"
}

# CARD= in /data/cuebox.conf, set on the console as docs/image.md says: a
# card that is not there is named in status's problem (the API answering), and
# the card's index brings the box back to playing on it. Adds to the caller's
# fails and notes.
card_override() {
  local r p end
  step "$name: CARD= set on the console: a card that is not there, then card 0"
  type_line "sed -i 's/^CARD=.*/CARD=nosuchcard/' /data/cuebox.conf && systemctl restart cueboxd"
  end=$(($(date +%s) + 60))
  p=
  while (($(date +%s) < end)); do
    "$hostctl" status "$box" --json > "$dir/status-nosuchcard.json" 2>> "$dir/status.err" &&
      p=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1])).get("problem") or "")' "$dir/status-nosuchcard.json" 2> /dev/null) &&
      [[ $p == *nosuchcard* ]] && break
    sleep 3
  done
  if [[ $p == *nosuchcard* ]]; then
    notes+=("CARD=nosuchcard: ${p:0:140}")
  else
    fails+=("CARD=nosuchcard: status problem '${p:-none}' does not name it")
  fi
  type_line "sed -i 's/^CARD=.*/CARD=0/' /data/cuebox.conf && systemctl restart cueboxd"
  sleep 5
  if go_when_playing c1; then
    sleep 2
    "$hostctl" status "$box" --json > "$dir/status-card0.json" 2>> "$dir/status.err" || true
    r=$(python3 -c 'import json,sys; s=json.load(open(sys.argv[1])); d=s.get("device") or {}; print(d.get("pcm") or "", s.get("problem"))' "$dir/status-card0.json" 2> /dev/null || true)
    if [[ $r == "hw:CARD=Intel,DEV=0 None" ]]; then
      notes+=("CARD=0: plays on hw:CARD=Intel,DEV=0 again")
    else
      fails+=("CARD=0: status says '$r'")
    fi
  else
    fails+=("CARD=0: go c1 refused for 60 s: $(tail -n 1 "$dir/go.txt")")
  fi
}

# ---- a card that plays ---------------------------------------------------------------
play_case() { # play_case NAME CHANNELS-EXPECTED QEMU-AUDIO-ARGS...
  local name=$1 want_ch=$2 t0 fails=() notes=() boot_s r st snd
  shift 2
  t0=$(date +%s)
  step "$name: booting the disk through OVMF and systemd-boot"
  boot "$name" "$@"
  if ! booted "$timeout"; then
    stop_guest
    result "$name" FAIL $(($(date +%s) - t0)) "$why"
    return
  fi
  boot_s=$(($(date +%s) - t0))
  step "$name: fingerprint $fp and root's login on the serial console after $boot_s s"
  if ! pair; then
    fails+=("hostctl pair --fingerprint (from the console) failed: $(tail -n 1 "$dir/pair.txt")")
  elif ! authorize; then
    fails+=("cueboxd auth add typed on the console did not answer 0")
  else
    # The screen (tty1) got the fingerprint too: its text is /dev/vcs1.
    r=$(ask SCREEN "grep -ac 'box key fingerprint: $fp' /dev/vcs1" || true)
    if [[ $r == 1 ]]; then notes+=("fingerprint on the screen (tty1) too"); else fails+=("the fingerprint is not on the screen (/dev/vcs1: ${r:-?})"); fi
    ask CARDS "cat /proc/asound/cards | grep -a '^ *[0-9]' | paste -sd' '" > "$dir/cards.txt" || true
    notes+=("cards: $(tr -s ' ' < "$dir/cards.txt")")
    if [[ $name == multi ]]; then
      r=$(ask STREAMS "grep -ah 'Channels:' /proc/asound/card*/stream0 | tr -d ' ' | paste -sd, -" || true)
      notes+=("USB altsets: ${r:-none}")
      [[ $r == *Channels:8* ]] || fails+=("the guest does not see an 8-channel altset (${r:-no stream0})")
    fi
    step "$name: hostctl push, go"
    "$hostctl" push "$session" --to "$box" --name cards > "$dir/push.txt" 2>&1 && r=0 || r=$?
    grep -q 'plays it now' "$dir/push.txt" || fails+=("push (exit $r) did not say the box plays it: $(tail -n 2 "$dir/push.txt" | paste -sd' ')")
    if go_when_playing c1; then
      sleep 3
      "$hostctl" go "$box" c2 >> "$dir/go.txt" 2>&1 || fails+=("go c2: $(tail -n 1 "$dir/go.txt")")
      sleep 2
      "$hostctl" status "$box" --json > "$dir/status.json" 2> "$dir/status.err" || true
      "$hostctl" status "$box" > "$dir/status.txt" 2>&1 || true
      if st=$(status_check "$dir/status.json" "$want_ch"); then notes+=("$st"); else fails+=("status: $st"); fi
      sleep 2
    else
      fails+=("go c1 refused for 60 s: $(tail -n 1 "$dir/go.txt")")
      "$hostctl" status "$box" --json > "$dir/status.json" 2> "$dir/status.err" || true
    fi
    r=$(ask NRESTARTS "systemctl show -p NRestarts --value cueboxd" || true)
    [[ $r == 0 ]] || fails+=("cueboxd restarted ${r:-?} times")
    if [[ $name == hda ]]; then card_override; fi
  fi
  power_off || fails+=("$why")
  # The card's output as QEMU recorded it: sound, not silence.
  local wav=$dir/card.wav need=
  # On 8 outputs B (c2) has its own, 3 and 4: no folding.
  if [[ $name == multi ]]; then need="--need 3,4 --frames 8:48000"; fi
  # shellcheck disable=SC2086
  if snd=$(python3 hw-tests/sound.py "$wav" $need --json "$dir/sound.json"); then
    notes+=("recording: $snd")
  else
    fails+=("recording: $snd")
  fi
  local secs=$(($(date +%s) - t0))
  if ((${#fails[@]})); then
    result "$name" FAIL "$secs" "$(join "${fails[@]}") [$(join "${notes[@]}")]"
  else
    result "$name" PASS "$secs" "boot ${boot_s}s; $(join "${notes[@]}")"
  fi
}

# ---- no card ---------------------------------------------------------------------------
none_case() {
  local name=none t0 fails=() notes=() boot_s r i from ok
  t0=$(date +%s)
  step "$name: booting the disk with no sound device"
  boot "$name"
  if ! booted "$timeout"; then
    stop_guest
    result "$name" FAIL $(($(date +%s) - t0)) "$why"
    return
  fi
  boot_s=$(($(date +%s) - t0))
  step "$name: fingerprint $fp and root's login on the serial console after $boot_s s"
  if ! pair; then
    stop_guest
    result "$name" FAIL $(($(date +%s) - t0)) "hostctl pair --fingerprint (from the console) failed: $(tail -n 1 "$dir/pair.txt")"
    return
  fi
  authorize || fails+=("cueboxd auth add typed on the console did not answer 0")
  step "$name: hostctl push (must fail: no card)"
  from=$(log_size)
  "$hostctl" push "$session" --to "$box" --name cards > "$dir/push.txt" 2>&1 && r=0 || r=$?
  if ((r == 0)); then
    fails+=("push exited 0: $(tail -n 2 "$dir/push.txt" | paste -sd' ')")
  elif ! grep -q 'cannot play' "$dir/push.txt"; then
    fails+=("push exited $r without 'cannot play': $(tail -n 2 "$dir/push.txt" | paste -sd' ')")
  else
    notes+=("push: $(grep -m 1 'cannot play' "$dir/push.txt" | cut -c1-160)")
  fi
  "$hostctl" status "$box" --json > "$dir/status.json" 2> "$dir/status.err" || true
  r=$(python3 -c 'import json,sys; s=json.load(open(sys.argv[1])); p=s.get("problem"); print(p if isinstance(p,str) and p else "")' "$dir/status.json" 2> /dev/null || true)
  if [[ -n $r ]]; then notes+=("status problem: ${r:0:160}"); else fails+=("status has no problem (status.json)"); fi
  if r=$(wait_console 0 'cueboxd: cannot play[^|]*' 60); then
    notes+=("console: ${r:0:160}")
  else
    fails+=("no 'cueboxd: cannot play' line on the serial console")
  fi
  # The API keeps answering (no crash, no restart loop) for 30 s.
  ok=0
  for ((i = 0; i < 10; i++)); do
    "$hostctl" status "$box" > /dev/null 2>> "$dir/status.err" && ok=$((ok + 1))
    sleep 3
  done
  ((ok == 10)) || fails+=("the API answered $ok of 10 status calls over 30 s")
  r=$(ask NRESTARTS "systemctl show -p NRestarts --value cueboxd" || true)
  [[ $r == 0 ]] || fails+=("before the reboot cueboxd had restarted ${r:-?} times")
  # A reboot typed on the console: the box comes back, its API answers, and
  # cueboxd (the pushed session still cannot play) does not restart-loop.
  step "$name: reboot typed on the serial console"
  from=$(log_size)
  type_line reboot
  if booted "$timeout" "$from"; then
    console_from "$from" > "$dir/reboot.console.txt"
    if grep -q 'Failed to connect to bus' "$dir/reboot.console.txt"; then
      fails+=("reboot printed 'Failed to connect to bus'")
    fi
    local end=$(($(date +%s) + 120))
    until "$hostctl" status "$box" --json > "$dir/status-after-reboot.json" 2>> "$dir/status.err"; do
      (($(date +%s) < end)) || { fails+=("the API did not answer after the reboot"); break; }
      sleep 3
    done
    sleep 20 # long enough for a restart loop to show (RestartSec=2)
    r=$(ask NRESTARTS2 "systemctl show -p NRestarts --value cueboxd" || true)
    [[ $r == 0 ]] && notes+=("after the reboot: API answers, NRestarts 0") ||
      fails+=("after the reboot cueboxd had restarted ${r:-?} times")
  else
    fails+=("after 'reboot' typed on the console: $why")
  fi
  power_off || fails+=("$why")
  local secs=$(($(date +%s) - t0))
  if ((${#fails[@]})); then
    result "$name" FAIL "$secs" "$(join "${fails[@]}") [$(join "${notes[@]}")]"
  else
    result "$name" PASS "$secs" "boot ${boot_s}s; $(join "${notes[@]}")"
  fi
}

for c in "${cases[@]}"; do
  case $c in
    hda) play_case hda "" -audiodev "wav,id=snd0,path=$out/hda/card.wav" \
      -device intel-hda -device hda-duplex,audiodev=snd0 ;;
    usb) play_case usb "" -device qemu-xhci -audiodev "wav,id=snd0,path=$out/usb/card.wav" \
      -device usb-audio,audiodev=snd0 ;;
    # QEMU's mixing engine converts only mono and stereo, so the 8-channel
    # frames reach the wav file only without it; the wav backend then writes
    # them as they come under its own default header (stereo, 44.1 kHz) and
    # takes bytes at that header's rate, so the file holds about a quarter of
    # the guest's frames, whole: enough to tell which outputs carry sound,
    # not to listen to. sound.py reads them as 8 x 16 bit at 48 kHz.
    multi) play_case multi 8 -device qemu-xhci \
      -audiodev "wav,id=snd0,path=$out/multi/card.wav,out.mixing-engine=off,out.fixed-settings=off,out.voices=1" \
      -device usb-audio,audiodev=snd0,multi=on ;;
    none) none_case ;;
  esac
done

echo
printf '%-7s %-5s %7s  %s\n' case result time detail
fail=0
for r in "${results[@]}"; do
  echo "$r"
  [[ $r == *" PASS "* ]] || fail=1
done
step "done; artifacts in $out"
exit "$fail"
