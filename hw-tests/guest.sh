#!/bin/bash
# The hardware tests, run ON the box: the booted image under QEMU (from the
# test drive, by hw-tests/run.sh) or a real box (over ssh, hw-tests/run.sh
# --box). Writes each test's artifacts and verdict to BUNDLE/results and one
# line per test to stdout: "HWTEST RESULT <name> PASS|FAIL|SKIP <seconds>s <detail>".
# Verdicts that need cueboxd render (bit-exact audio) are made on the host
# from the artifacts (hw-tests/check.py); the rest are made here.
#
# Usage: guest.sh BUNDLE qemu|box
set -uo pipefail
bundle=${1:?usage: guest.sh BUNDLE qemu|box}
mode=${2:?usage: guest.sh BUNDLE qemu|box}
res=$bundle/results
mkdir -p "$res"
t_all=$(date +%s.%N)
say() { echo "HWTEST $*"; }
elapsed() { echo "$(date +%s.%N) $1" | awk '{printf "%.1f", $1 - $2}'; }
result() { # name status detail (the test's start time in $t)
  local secs
  secs=$(elapsed "$t")
  echo "$2 $secs $3" > "$res/$1.result"
  say "RESULT $1 $2 ${secs}s $3"
}
# Waits up to $2 seconds for a JSON event line matching $3 (grep -E) in file $1.
wait_event() {
  local end=$((SECONDS + $2))
  until grep -qE "$3" "$1" 2>/dev/null; do
    ((SECONDS < end)) || return 1
    sleep 0.2
  done
}

# ---- set-up: the fresh binaries, the ALSA kernel devices -------------------------
t=$(date +%s.%N)
if [[ -x $bundle/bin/cueboxd ]]; then
  # The workspace's cueboxd replaces the image's for this boot only: a bind mount
  # over the read-only root, then the service restarts on it.
  mount --bind "$bundle/bin/cueboxd" /usr/bin/cueboxd
fi
export PATH=$bundle/bin:$PATH
# Loopback (4 substreams: one per test), dummy card, virtual MIDI (raw MIDI +
# sequencer ports), the sequencer itself.
modprobe snd-aloop pcm_substreams=4 id=Loopback || { say "FATAL snd-aloop does not load"; exit 1; }
modprobe snd-dummy id=Dummy
modprobe snd-virmidi midi_devs=1 id=VirMIDI
modprobe snd-seq
until [[ -e /proc/asound/Loopback && -e /proc/asound/VirMIDI ]] || ((SECONDS > 60)); do sleep 0.2; done
{
  cat /proc/asound/cards
  aplay -l
  amidi -l
  cat /proc/cmdline
  uname -a
} > "$res/devices.txt" 2>&1
say "devices: $(grep -c '^ *[0-9]' /proc/asound/cards) ALSA cards: $(sed -n 's/^ *[0-9]* \[\([A-Za-z0-9_]*\) *\].*/\1/p' /proc/asound/cards | paste -sd, -)"

# The service plays into the loopback's substream 0 for the network test;
# cuebox.conf stays as it is (CUEBOX_CONF, in the service manager's
# environment, points the service at the test's).
cat > "$res/cuebox.conf" <<'EOF'
PLAYBACK=hw:Loopback,0,0
FORMAT=FLOAT_LE
PERIOD=1024
PERIODS=4
LISTEN=0.0.0.0
NAME=hwtest
EOF
systemctl set-environment CUEBOX_CONF="$res/cuebox.conf"
if [[ $mode == qemu ]]; then
  # systemd.run= booted only as far as this script: now the rest of the box
  # (network, cueboxd) comes up as it would have.
  systemctl start --no-block multi-user.target
else
  systemctl restart --no-block cueboxd.service
fi
# Deadlines are wall-clock: under emulation one systemctl call takes seconds.
until systemctl is-active -q cueboxd.service || ((SECONDS > 300)); do
  sleep 2
done
if systemctl is-active -q cueboxd.service; then
  result setup PASS "$(cueboxd --version), cueboxd.service up"
else
  { systemctl list-jobs --no-pager; systemctl status --no-pager cueboxd.service; } > "$res/jobs.txt" 2>&1
  result setup FAIL "cueboxd.service is $(systemctl is-active cueboxd.service) after $SECONDS s; jobs: $(systemctl list-jobs --no-legend --no-pager | awk '{print $2}' | paste -sd, -)"
fi

# ---- boot: what the image promises -----------------------------------------------
t=$(date +%s.%N)
problems=()
[[ $(uname -v) == *PREEMPT_RT* ]] || problems+=("kernel is not PREEMPT_RT: $(uname -v)")
for p in isolcpus=managed_irq,domain nohz_full= rcu_nocbs= irqaffinity= threadirqs; do
  grep -q "$p" /proc/cmdline || problems+=("$p missing from the kernel command line")
done
isolated=$(cat /sys/devices/system/cpu/isolated)
[[ -n $isolated ]] || problems+=("no CPU is isolated")
[[ $(findmnt -no OPTIONS /) == ro,* ]] || problems+=("the root is not read-only: $(findmnt -no OPTIONS /)")
touch /.hwtest-rw 2>/dev/null && problems+=("the root file system took a write")
[[ $(findmnt -no OPTIONS /data) == rw,* ]] || problems+=("/data is not mounted read-write")
[[ -d /var/lib/cuebox/Sessions ]] || problems+=("/var/lib/cuebox/Sessions missing: the data layout was not made")
# The image's data partition is 512 MiB; the disk under test is 1 GiB larger.
data_mib=$(df -m --output=size /data | tail -n 1 | tr -d ' ')
if [[ $mode == qemu ]] && ((data_mib < 1200)); then
  problems+=("/data is $data_mib MiB: first boot did not grow it to the disk's end")
fi
fp=$(cueboxd --root /data/cuebox key)
journalctl -b -u cuebox-data.service -o cat | grep -qF "box key fingerprint: $fp" ||
  problems+=("the console did not show the key fingerprint $fp")
systemctl is-active -q cueboxd.service || problems+=("cueboxd.service is $(systemctl is-active cueboxd.service)")
status=$(systemctl show -p StatusText --value cueboxd.service)
[[ $status == idle* || $status == playing* ]] || problems+=("cueboxd did not notify systemd (StatusText '$status')")
watchdog=$(systemctl show -p WatchdogUSec --value cueboxd.service)
failed=$(systemctl --failed --no-legend --plain | awk '{print $1}' | paste -sd, -)
[[ -z $failed ]] || problems+=("failed units: $failed")
irq_threads=$(ps -eo comm,cls,rtprio | awk '$1 ~ /^irq\// && tolower($1) ~ /snd|hda|xhci|audio/ {print $1 ":" $2 $3}' | paste -sd, -)
if [[ -n $irq_threads ]] && ps -eo comm,cls,rtprio | awk '$1 ~ /^irq\// && tolower($1) ~ /snd|hda|xhci|audio/ && ($2 != "FF" || $3 <= 80)' | grep -q .; then
  problems+=("a sound IRQ thread is not SCHED_FIFO above 80: $irq_threads")
fi
{
  systemctl status --no-pager cueboxd.service
  journalctl -b --no-pager -o short-monotonic
} > "$res/journal.txt" 2>&1
if ((${#problems[@]})); then
  result boot FAIL "$(IFS=';'; echo "${problems[*]}")"
else
  result boot PASS "isolated CPU(s) $isolated; /data $data_mib MiB; fingerprint on the console; cueboxd $status (watchdog $watchdog); sound IRQ threads ${irq_threads:-none}"
fi

# ---- cueboxd system check: no FAIL --------------------------------------------------
t=$(date +%s.%N)
cueboxd system check > "$res/system-check.txt" 2>&1
check=$?
cueboxd system check --json > "$res/system-check.json" 2>&1
summary=$(tail -n 1 "$res/system-check.txt")
if ((check == 0)); then
  result system-check PASS "$summary; $(grep -c '^PASS' "$res/system-check.txt") PASS"
else
  result system-check FAIL "$(grep '^FAIL' "$res/system-check.txt" | paste -sd';' -)"
fi

# ---- play: cueboxd run into the loopback, the other side recorded -------------------
t=$(date +%s.%N)
root=/tmp/hwtest-root
rm -rf "$root" && mkdir -p "$root"
cp -a "$bundle/sessions/play" /tmp/play
arecord -q -D hw:Loopback,1,1 -f FLOAT_LE -c 10 -r 48000 --period-size=1024 --buffer-size=4096 \
  -t raw -d 22 "$res/play.raw" 2> "$res/play.arecord.txt" &
rec=$!
sleep 0.5
cueboxd --root "$root" run --session /tmp/play --device hw:Loopback,0,1 --format FLOAT_LE \
  --period 1024 --periods 4 --events "$bundle/sessions/play-events.json" --seconds 17 --json \
  > "$res/play.events" 2> "$res/play.stderr"
run=$?
wait "$rec"
xruns=$(grep -c '"event":"xrun"' "$res/play.events")
late=$(grep -c '"event":"late"' "$res/play.events")
rt=$(grep '"event":"rt_thread"' "$res/play.events" | head -n 1)
if ((run != 0)); then
  result play FAIL "cueboxd run exited $run: $(tail -n 2 "$res/play.stderr" | paste -sd' ' -)"
elif ! grep -q '"event":"running"' "$res/play.events"; then
  result play FAIL "cueboxd never reported running"
else
  # PASS here means it ran; check.py compares play.raw with cueboxd render.
  result play RAN "xruns $xruns, late commands $late; rt-out: $(echo "$rt" | grep -o '"problems":\[[^]]*\]')"
fi

# ---- MTC: a virtual MIDI port into cueboxd's MTC input ---------------------------------
t=$(date +%s.%N)
rm -rf /tmp/mtc && cp -a "$bundle/sessions/mtc" /tmp/mtc
cueboxd --root "$root" run --session /tmp/mtc --device hw:Loopback,0,2 --format FLOAT_LE \
  --period 1024 --periods 4 --mtc VirMIDI --seconds 12 --json \
  > "$res/mtc.events" 2> "$res/mtc.stderr" &
box=$!
if wait_event "$res/mtc.events" 30 '"event":"running"'; then
  mtc-send hw:VirMIDI,0 25 10:00:00:00 8 2> "$res/mtc-send.txt"
fi
wait "$box"
locked=$(grep -c '"event":"mtc_locked"' "$res/mtc.events")
switch=$(grep '"event":"clock_switch"' "$res/mtc.events" | grep -c '"to":"mtc:')
cue=$(grep -c '"event":"timecode_cue"' "$res/mtc.events")
# The timecode the clock followed while MTC ran.
tc=$(grep '"event":"clock"' "$res/mtc.events" | grep '"ptp":null,"source":"mtc' | tail -n 1 | grep -o '"timecode":"[^"]*"')
if ((locked >= 1 && switch >= 1 && cue >= 1)); then
  result mtc PASS "mtc_locked, clock switched to mtc, timecode cue fired; last $tc"
else
  result mtc FAIL "mtc_locked $locked, switches to mtc $switch, timecode cues $cue (see mtc.events, mtc.stderr)"
fi

# ---- LTC: played into the loopback, decoded by cueboxd's capture thread ----------------
t=$(date +%s.%N)
rm -rf /tmp/ltc && cp -a "$bundle/sessions/ltc" /tmp/ltc
cueboxd --root "$root" run --session /tmp/ltc --device hw:Loopback,0,3 --format FLOAT_LE \
  --period 1024 --periods 4 --capture hw:Loopback,1,2 --capture-channels 2 --seconds 12 --json \
  > "$res/ltc.events" 2> "$res/ltc.stderr" &
box=$!
if wait_event "$res/ltc.events" 30 '"event":"running"'; then
  aplay -q -D plughw:Loopback,0,2 "$bundle/sessions/ltc.wav" 2> "$res/ltc.aplay.txt"
fi
wait "$box"
switch=$(grep '"event":"clock_switch"' "$res/ltc.events" | grep -c '"to":"ltc"')
cue=$(grep -c '"event":"timecode_cue"' "$res/ltc.events")
tc=$(grep '"event":"clock"' "$res/ltc.events" | grep '"ptp":null,"source":"ltc"' | tail -n 1 | grep -o '"timecode":"[^"]*"')
if ((switch >= 1 && cue >= 1)); then
  result ltc PASS "clock switched to ltc, timecode cue fired; last $tc"
else
  result ltc FAIL "switches to ltc $switch, timecode cues $cue (see ltc.events, ltc.stderr)"
fi

# ---- network: hostctl on the host pushes a session to the service and plays it -------
t=$(date +%s.%N)
cueboxd --root /data/cuebox auth add "$(cat "$bundle/host.key")" --role edit --comment hw-tests > /dev/null
since=$(date '+%Y-%m-%d %H:%M:%S')
arecord -q -D hw:Loopback,1,0 -f FLOAT_LE -c 10 -r 48000 --period-size=1024 --buffer-size=4096 \
  -t raw -d 120 "$res/network.raw" 2> "$res/network.arecord.txt" &
rec=$!
# The host's turn: pair (checking this fingerprint), push, go. Done when c1 started.
say "HOST-STEP network $(cueboxd --root /data/cuebox key)"
started=0
end=$((SECONDS + 150))
until journalctl -u cueboxd.service --since "$since" -o cat | grep -q '"clip":"c1".*"event":"started"'; do
  ((SECONDS < end)) || break
  sleep 2
done
journalctl -u cueboxd.service --since "$since" -o cat | grep -q '"clip":"c1".*"event":"started"' && started=1
# Three more seconds of the clip, then the recording stops (SIGINT: arecord
# finishes its file).
sleep 3
kill -INT "$rec"
wait "$rec"
journalctl -u cueboxd.service --since "$since" -o cat > "$res/network.events"
cueboxd --root /data/cuebox auth remove "$(cat "$bundle/host.key")" > /dev/null
if ((started)); then
  result network RAN "the pushed session's c1 started on the box (check.py compares the recording)"
else
  result network FAIL "no 'started' event for c1 within 150 s of the host step (see network.events)"
fi

# ---- latency: reported, not asserted (emulation cannot prove it) ---------------------
t=$(date +%s.%N)
core=${isolated%%[,-]*}
if [[ -n $core ]] && command -v cyclictest > /dev/null; then
  loops=${HWTEST_CYCLICTEST_LOOPS:-20000}
  cyclictest -q -m -p 95 -a "$core" -t 1 -i 200 -l "$loops" > "$res/cyclictest.txt" 2>&1
  result latency REPORT "cyclictest on CPU $core, $loops x 200 us: $(grep -o 'Min:.*' "$res/cyclictest.txt" | tr -s ' ')"
else
  result latency SKIP "no isolated core or no cyclictest"
fi

say "DONE $(elapsed "$t_all")s"

if [[ $mode == box ]]; then
  # Leave the box as it was: its own cuebox.conf and cueboxd again.
  systemctl unset-environment CUEBOX_CONF
  mountpoint -q /usr/bin/cueboxd && umount /usr/bin/cueboxd
  systemctl restart cueboxd.service
  rm -rf /tmp/play /tmp/mtc /tmp/ltc /tmp/hwtest-root
fi
