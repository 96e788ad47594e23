#!/bin/bash
# The hardware tests, run ON the box: the booted image under QEMU (from the
# test drive, by hw-tests/run.sh) or a real box (over ssh, hw-tests/run.sh
# --box). Writes each test's artifacts and verdict to BUNDLE/results and one
# line per test to stdout: "HWTEST RESULT <name> PASS|FAIL|SKIP <seconds>s <detail>".
# Verdicts that need cueboxd render (bit-exact audio) are made on the host
# from the artifacts (hw-tests/check.py); the rest are made here.
#
# Usage: guest.sh BUNDLE qemu|box
# pipefail: so `journalctl | grep -q` would fail when grep stops at the first
# match and journalctl dies of SIGPIPE; the checks use `grep -c`, which reads
# to the end.
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
journalctl -b -u cuebox-data.service -o cat | grep -cF "box key fingerprint: $fp" > /dev/null ||
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

# The other side of the loopback, recorded: SECONDS seconds of DEVICE into
# FILE. The loopback's capture buffer is the playback side's (85 ms), so the
# recorder runs real-time on the housekeeping core, above the box's own
# housekeeping (a push, a session switch); it is the test's, not the box's.
# Run in the background, it is arecord itself (exec), so SIGINT reaches it.
record() {
  exec chrt -f 70 arecord -q -D "$1" -f FLOAT_LE -c 10 -r 48000 --period-size=1024 --buffer-size=4096 \
    -t raw -d "$2" "$3"
}

# ---- play: cueboxd run into the loopback, the other side recorded -------------------
t=$(date +%s.%N)
root=/tmp/hwtest-root
rm -rf "$root" && mkdir -p "$root"
cp -a "$bundle/sessions/play" /tmp/play
record hw:Loopback,1,1 22 "$res/play.raw" 2> "$res/play.arecord.txt" &
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

# cueboxd as root types it at the box: through the image's wrapper, which runs it
# as the service's user (files it writes under /data/cuebox stay readable to
# the service); an older box without it runs it directly.
as_console() {
  if [[ -x /usr/local/sbin/cueboxd ]]; then
    /usr/local/sbin/cueboxd "$@"
  else
    /usr/bin/cueboxd "$@"
  fi
}

# ---- network: hostctl on the host pushes a session to the service and plays it -------
t=$(date +%s.%N)
as_console --root /data/cuebox auth add "$(cat "$bundle/host.key")" --role edit --comment hw-tests > /dev/null
since=$(date '+%Y-%m-%d %H:%M:%S')
# Into memory (/tmp): the push writes to /data while this records, and a
# write held up behind its syncs would overrun the recorder.
record hw:Loopback,1,0 90 /tmp/network.raw 2> "$res/network.arecord.txt" &
rec=$!
# The host's turn: pair (checking this fingerprint), push, go. Done when c1 started.
say "HOST-STEP network $(cueboxd --root /data/cuebox key)"
started=0
end=$((SECONDS + 80))
until journalctl -u cueboxd.service --since "$since" -o cat | grep -c '"clip":"c1".*"event":"started"' > /dev/null; do
  ((SECONDS < end)) || break
  sleep 2
done
journalctl -u cueboxd.service --since "$since" -o cat | grep -c '"clip":"c1".*"event":"started"' > /dev/null && started=1
# Three more seconds of the clip, then the recording stops (SIGINT: arecord
# finishes its file).
sleep 3
kill -INT "$rec"
wait "$rec"
mv /tmp/network.raw "$res/network.raw"
journalctl -u cueboxd.service --since "$since" -o cat > "$res/network.events"
as_console --root /data/cuebox auth remove "$(cat "$bundle/host.key")" > /dev/null
xruns=$(grep -c '"event":"xrun"' "$res/network.events")
late=$(grep -c '"event":"late"' "$res/network.events")
if ((started)); then
  result network RAN "the pushed session's c1 started on the box; xruns $xruns, late commands $late (check.py compares the recording)"
else
  result network FAIL "no 'started' event for c1 within 80 s of the host step (see network.events)"
fi

# ---- privileges: the service as it plays the pushed session ---------------------------
# Its own user, two capabilities, the sandbox, and still real time: rt-out at
# SCHED_FIFO 80 and all memory locked under the system call filter.
t=$(date +%s.%N)
problems=()
pid=$(systemctl show -p MainPID --value cueboxd.service)
status=$(cat "/proc/$pid/status" 2> /dev/null)
field() { echo "$status" | awk -v k="$1:" '$1 == k {print $2}'; }
user=$(ps -o user= -p "$pid" | tr -d ' ')
[[ $user == cuebox ]] || problems+=("cueboxd (pid $pid) runs as '$user', not cuebox")
uid=$(id -u cuebox 2> /dev/null)
[[ $(echo "$status" | awk '$1 == "Uid:" {print $2, $3, $4, $5}') == "$uid $uid $uid $uid" ]] ||
  problems+=("its uids (real, effective, saved, fs) are $(echo "$status" | awk '$1 == "Uid:" {print $2, $3, $4, $5}')")
# CAP_SYS_NICE (23) and CAP_IPC_LOCK (14): 1<<23 | 1<<14.
want=0000000000804000
for c in CapEff CapPrm CapAmb CapBnd; do
  [[ $(field $c) == "$want" ]] || problems+=("$c $(field $c), not $want (CAP_SYS_NICE, CAP_IPC_LOCK)")
done
[[ $(field NoNewPrivs) == 1 ]] || problems+=("NoNewPrivs $(field NoNewPrivs)")
[[ $(field Seccomp) == 2 ]] || problems+=("no system call filter (Seccomp $(field Seccomp))")
rt_tid=$(grep -lx rt-out /proc/"$pid"/task/*/comm 2> /dev/null | head -n 1 | cut -d/ -f5)
rt=$(ps -L -o tid=,cls=,rtprio= -p "$pid" | awk -v t="$rt_tid" '$1 == t {print $2 $3}')
[[ $rt == FF80 ]] || problems+=("rt-out (tid ${rt_tid:-none}) is '${rt:-gone}', not SCHED_FIFO 80")
locked=$(field VmLck)
((${locked:-0} > 0)) || problems+=("no memory locked (VmLck ${locked:-?} kB)")
ls -l "/proc/$pid/fd" 2> /dev/null | grep -q cpu_dma_latency || problems+=("/dev/cpu_dma_latency is not held")
[[ -e /run/cuebox/irq-map.json ]] || problems+=("no IRQ journal /run/cuebox/irq-map.json from the root helper")
strays=$(find /data/cuebox \( ! -user cuebox -o ! -group cuebox \) 2> /dev/null | head -n 3 | paste -sd' ' -)
id cuebox > /dev/null 2>&1 && [[ -n $strays ]] && problems+=("not the cuebox user's under /data/cuebox: $strays")
# PTP binds UDP 319 and 320, below 1024: with PTP_IFACE set, cuebox-boot gives
# the service CAP_NET_BIND_SERVICE too (and only then), and the session plays
# with PTP on.
iface=$(ip route show default | awk '{print $5; exit}')
echo "PTP_IFACE=$iface" >> "$res/cuebox.conf"
since=$(date '+%Y-%m-%d %H:%M:%S')
systemctl restart cuebox-boot.service cueboxd.service
end=$((SECONDS + 300))
until journalctl -u cueboxd.service --since "$since" -o cat | grep -cE '"event":"(running|cannot_play)"' > /dev/null || ((SECONDS > end)); do sleep 1; done
ptp_pid=$(systemctl show -p MainPID --value cueboxd.service)
ptp_caps=$(awk '$1 == "CapAmb:" {print $2}' "/proc/$ptp_pid/status" 2> /dev/null)
journalctl -u cueboxd.service --since "$since" -o cat > "$res/privileges-ptp.events"
[[ $ptp_caps == 0000000000804400 ]] || problems+=("with PTP_IFACE=$iface the ambient capabilities are ${ptp_caps:-unknown}, not 0000000000804400 (CAP_NET_BIND_SERVICE too)")
grep -q '"event":"running"' "$res/privileges-ptp.events" ||
  problems+=("with PTP_IFACE=$iface the session does not play: $(grep -o '"detail":"[^"]*"' "$res/privileges-ptp.events" | tail -n 1)")
sed -i '/^PTP_IFACE=/d' "$res/cuebox.conf"
systemctl restart cuebox-boot.service
[[ -e /run/systemd/system/cueboxd.service.d/ptp.conf ]] && problems+=("PTP_IFACE emptied, but CAP_NET_BIND_SERVICE's drop-in stays")
systemd-analyze security --no-pager cueboxd.service > "$res/security.txt" 2>&1
exposure=$(grep -o 'Overall exposure level for cueboxd.service: .*' "$res/security.txt" | cut -d: -f2- | sed 's/^ //')
{
  echo "$status"
  ps -L -o tid,comm,cls,rtprio -p "$pid"
} > "$res/privileges.txt" 2>&1
if ((${#problems[@]})); then
  result privileges FAIL "$(IFS=';'; echo "${problems[*]}"); systemd-analyze security: $exposure"
else
  result privileges PASS "user cuebox; caps $want (sys_nice, ipc_lock) eff/prm/amb/bnd; no_new_privs; seccomp; rt-out SCHED_FIFO 80; $locked kB locked; with PTP_IFACE=$iface also net_bind_service, and it plays; systemd-analyze security: $exposure"
fi

# ---- firewall: only the show networks reach the box --------------------------------
# Two network namespaces on veth pairs stand for two hosts: "in" on
# 198.51.100.0/24 and "out" on 10.99.0.0/24. What reaches cueboxd is what a
# user would see: the API's port connects, OSC over TCP answers /thump, a UDP
# datagram to OSC's port is logged by cueboxd (refused: it is not OSC).
t=$(date +%s.%N)
fw_since=$(date '+%Y-%m-%d %H:%M:%S')
problems=()
fw_conf() { # SHOW_NETWORKS for the test's cuebox.conf, then the filter reloaded
  sed -i '/^SHOW_NETWORKS=/d' "$res/cuebox.conf"
  echo "SHOW_NETWORKS=\"$1\"" >> "$res/cuebox.conf"
  systemctl restart cuebox-firewall.service
}
api_from() { # api_from NS ADDR: 0 when the API's port connects within 4 s
  ip netns exec "fw-$1" timeout 4 bash -c "exec 3<>/dev/tcp/$2/53100" 2> /dev/null
}
thump_from() { # thump_from NS ADDR: 0 when OSC over TCP answers /thump (a SLIP frame)
  local reply # (not a pipe into grep: pipefail would take the reader's timeout for the status)
  reply=$(ip netns exec "fw-$1" timeout 6 bash -c "exec 3<>/dev/tcp/$2/53000 && printf '\300/thump\0\0,\0\0\0\300' >&3 && timeout 3 cat <&3" 2> /dev/null | tr -d '\0')
  [[ $reply == */reply/thump* ]]
}
udp_from() { # udp_from NS SRC ADDR: 0 when cueboxd logged a datagram from SRC
  local since
  since=$(date '+%Y-%m-%d %H:%M:%S')
  ip netns exec "fw-$1" bash -c "printf 'not osc' > /dev/udp/$3/53000" 2> /dev/null
  sleep 3
  journalctl -u cueboxd.service --since "$since" -o cat | grep -c "\"from\":\"$2:" > /dev/null
}
# (systemd-networkd leaves veths alone: the image's 80-wired.network.)
for ns in in:198.51.100 out:10.99.0; do
  name=${ns%%:*} net=${ns#*:}
  ip netns add "fw-$name"
  ip link add "fw-$name" type veth peer name eth0 netns "fw-$name"
  ip addr add "$net.1/24" dev "fw-$name"
  ip link set "fw-$name" up
  ip -n "fw-$name" addr add "$net.2/24" dev eth0
  ip -n "fw-$name" link set eth0 up
  ip -n "fw-$name" link set lo up
done
nft list table inet cuebox > "$res/firewall-default.nft" 2>&1 ||
  problems+=("no cuebox table in nftables after boot: $(head -n 1 "$res/firewall-default.nft")")
# OSC on (cueboxd's start reloads the filter with its port); its own allow
# list takes both test networks, so only the filter tells them apart.
printf '{"osc": {"port": 53000, "allow": ["10.0.0.0/8", "198.51.100.0/24", "127.0.0.0/8"]}}\n' > /data/cuebox/showctl.json
chown cuebox:cuebox /data/cuebox/showctl.json 2> /dev/null
host_net=10.0.2.0/24
[[ $mode == box ]] && host_net=${SSH_CONNECTION%% *}
fw_conf "$host_net 198.51.100.0/24"
systemctl restart cueboxd.service
end=$((SECONDS + 300))
until systemctl is-active -q cueboxd.service && journalctl -u cueboxd.service -n 50 -o cat | grep -c '"osc_tcp":"0.0.0.0:53000"' > /dev/null || ((SECONDS > end)); do sleep 1; done
nft list table inet cuebox > "$res/firewall-show.nft" 2>&1
api_from in 198.51.100.1 || problems+=("the API is not reachable from 198.51.100.2, in the show networks")
thump_from in 198.51.100.1 || problems+=("OSC over TCP does not answer 198.51.100.2, in the show networks")
udp_from in 198.51.100.2 198.51.100.1 || problems+=("OSC over UDP from 198.51.100.2 (a show network) did not reach cueboxd")
api_from out 10.99.0.1 && problems+=("the API is reachable from 10.99.0.2, outside the show networks")
thump_from out 10.99.0.1 && problems+=("OSC over TCP answers 10.99.0.2, outside the show networks")
udp_from out 10.99.0.2 10.99.0.1 && problems+=("OSC over UDP from 10.99.0.2 (outside the show networks) reached cueboxd")
timeout 4 bash -c 'exec 3<>/dev/tcp/127.0.0.1/53100' 2> /dev/null || problems+=("loopback cannot reach the API")
# A bad network: named precisely; none of the list is used, the private
# networks are (so "out", private, gets in and "in", public, does not).
since=$(date '+%Y-%m-%d %H:%M:%S')
fw_conf "$host_net 198.51.100.0/33"
journalctl -b -u cuebox-firewall.service --since "$since" -o cat > "$res/firewall-bad.txt"
grep -qF 'show network "198.51.100.0/33": the prefix length of an IPv4 network is 0 to 32' "$res/firewall-bad.txt" ||
  problems+=("a bad SHOW_NETWORKS entry was not named: $(head -n 2 "$res/firewall-bad.txt" | paste -sd' ' -)")
api_from out 10.99.0.1 || problems+=("with a bad SHOW_NETWORKS, the private 10.99.0.2 cannot reach the API")
api_from in 198.51.100.1 && problems+=("with a bad SHOW_NETWORKS, the public 198.51.100.2 reaches the API")
journalctl -u cueboxd.service --since "$fw_since" -o cat > "$res/firewall.events"
# Back as it was: no show-control file, the default filter.
sed -i '/^SHOW_NETWORKS=/d' "$res/cuebox.conf"
rm -f /data/cuebox/showctl.json
systemctl restart cuebox-firewall.service
for ns in in out; do ip netns del "fw-$ns"; done
if ((${#problems[@]})); then
  result firewall FAIL "$(IFS=';'; echo "${problems[*]}")"
else
  result firewall PASS "SHOW_NETWORKS=\"$host_net 198.51.100.0/24\": the API, OSC over TCP and UDP reach cueboxd from 198.51.100.2, not from 10.99.0.2; loopback open; a /33 named on the console, the private networks let in instead"
fi

# ---- pair: cuebox.conf's PAIR keys reach cueboxd on the booted image --------------------
# PAIR=main with a backup that is not there (TEST-NET-1) and a control address
# on the default interface: cueboxd-start passes the pair's flags, cuebox-boot
# gives the service CAP_NET_ADMIN and CAP_NET_RAW, the firewall lets VRRP in,
# and the service becomes main (no main heard for 4 s) and runs keepalived
# inside its sandbox, which puts the address on the interface.
t=$(date +%s.%N)
problems=()
iface=$(ip route show default | awk '{print $5; exit}')
net=$(ip -4 -o addr show dev "$iface" | awk '{print $4; exit}')
vip="${net%.*/*}.200/${net#*/}"
fp=$(as_console --root /data/cuebox key --json | sed -n 's/.*"fingerprint":"\([^"]*\)".*/\1/p')
{
  echo "PAIR=main"
  echo "PEER=192.0.2.1:53100"
  echo "PEER_FINGERPRINT=$fp"
  echo "PAIR_VIP=$vip"
  echo "PAIR_INTERFACE=$iface"
} >> "$res/cuebox.conf"
since=$(date '+%Y-%m-%d %H:%M:%S')
systemctl restart cuebox-boot.service cuebox-firewall.service cueboxd.service
end=$((SECONDS + 240))
until journalctl -u cueboxd.service --since "$since" -o cat | grep -c '"event":"pair_role".*"holds_address":true' > /dev/null || ((SECONDS > end)); do sleep 1; done
journalctl -u cueboxd.service --since "$since" -o cat > "$res/pair.events"
pid=$(systemctl show -p MainPID --value cueboxd.service)
pair_args=$(tr '\0' ' ' < "/proc/$pid/cmdline" 2> /dev/null)
ip -4 -o addr show dev "$iface" > "$res/pair.addresses"
ps -o pid,user,args --ppid "$pid" > "$res/pair.children" 2>&1
cp /data/cuebox/pair/keepalived.log "$res/pair.keepalived.log" 2> /dev/null
grep '"event":"pair_role"' "$res/pair.events" | grep -q '"role":"main"' ||
  problems+=("it never became main (cueboxd ran with: ${pair_args:-nothing}; pair.events)")
grep -q '"event":"pair_role".*"holds_address":true' "$res/pair.events" ||
  problems+=("the service never held the control address $vip (pair.events, pair.keepalived.log)")
grep -q "inet ${vip%/*}/" "$res/pair.addresses" ||
  problems+=("$vip is not on $iface: $(paste -sd' ' "$res/pair.addresses")")
sed -i '/^PAIR=/d; /^PEER=/d; /^PEER_FINGERPRINT=/d; /^PAIR_VIP=/d; /^PAIR_INTERFACE=/d' "$res/cuebox.conf"
systemctl restart cuebox-boot.service cuebox-firewall.service
systemctl restart --no-block cueboxd.service
if ((${#problems[@]})); then
  result pair FAIL "$(IFS=';'; echo "${problems[*]}")"
else
  result pair PASS "PAIR=main, PAIR_VIP=$vip on $iface: cueboxd ran with '${pair_args#*--pair}', became main with its backup silent and, through keepalived in its sandbox, held the address"
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
  systemctl restart cuebox-firewall.service cueboxd.service
  rm -rf /tmp/play /tmp/mtc /tmp/ltc /tmp/hwtest-root
fi
