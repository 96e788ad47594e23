#!/usr/bin/env bash
# Takeover time of a main/backup pair (docs/pair.md, "Takeover"): two
# cueboxd units in network namespaces on one bridge (scripts/lib/pair-netns.sh),
# each playing a session into its own paced file PCM, with a control address
# through keepalived and the host as witness. N times: wait until the pair is
# settled (a main holding the address, a backup resynchronised with it),
# SIGKILL the main, and time from the kill until a TCP connection from the
# host to the control address's API port is accepted (the survivor answers
# on it); then start the killed unit again (it joins as backup), so the
# kills alternate between the two units. Prints each time and p50/p99/max.
#
#   scripts/bench-pair-takeover.sh [N]      (default 20; root: namespaces)
#   PROFILE=debug scripts/bench-pair-takeover.sh   the debug build (faster to build)
#   WITNESS=arbiter scripts/bench-pair-takeover.sh  the witness a third cueboxd
#                                           that arbitrates (docs/pair.md, "The
#                                           arbitrating witness"): the lease adds
#                                           its lapse to each takeover
set -euo pipefail
cd "$(dirname "$0")/.."
count=${1:-20}
profile=${PROFILE:-release}
if [[ $profile == release ]]; then
  cargo build --release -q -p cueboxd -p hostctl
  bin=$PWD/target/release
else
  cargo build -q -p cueboxd -p hostctl
  bin=${CARGO_TARGET_DIR:-$PWD/target}/debug
fi
tag=cbt$$
tmp=$(mktemp -d)
declare -A pid=()
cleanup() {
  for p in "${pid[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  scripts/lib/pair-netns.sh down "$tag"
  rm -rf "$tmp"
}
trap cleanup EXIT
net=10.78.$(scripts/lib/pair-netns.sh up "$tag")
vip=$net.10
declare -A ip=([main]=$net.1 [backup]=$net.2) side=([main]=m [backup]=b)
declare -A other=([main]=backup [backup]=main)
export CUEBOX_HOST_DIR=$tmp/host
host() { ip netns exec "$tag-h" "$bin/hostctl" "$@"; }

so=$(scripts/alsa/build-paced-pcm.sh | tail -n 1)
units=(main backup)
[[ ${WITNESS:-} == arbiter ]] && units+=(witness)
for u in "${units[@]}"; do
  "$bin/cueboxd" --root "$tmp/$u" key >/dev/null
  cat >"$tmp/$u.asound" <<CONF
pcm_type.cuebox_paced { lib "$so" }
pcm.bench { type cuebox_paced outfile "/dev/null" }
CONF
done
fp() { "$bin/cueboxd" --root "$tmp/$1" key; }
key() { "$bin/cueboxd" --root "$tmp/$1" key --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["key"])'; }
for u in main backup; do
  "$bin/cueboxd" --root "$tmp/$u" auth add "$(key "${other[$u]}")" --role control >/dev/null
done
witness=(--pair-witness "$net.3")
if [[ ${WITNESS:-} == arbiter ]]; then
  # A third cueboxd on the host's address, idle, letting both units in.
  for u in main backup; do
    "$bin/cueboxd" --root "$tmp/witness" auth add "$(key "$u")" --role control >/dev/null
  done
  ALSA_CONFIG_PATH="/usr/share/alsa/alsa.conf:$tmp/witness.asound" \
    ip netns exec "$tag-h" "$bin/cueboxd" --root "$tmp/witness" run --listen "$net.3" \
    --name witness --device bench --format FLOAT_LE --channels 2 --no-irq-routing \
    >>"$tmp/witness.log" 2>&1 &
  pid[witness]=$!
  witness+=(--pair-witness-fingerprint "$(fp witness)")
fi

start() {
  local u=$1 o=${other[$1]}
  ALSA_CONFIG_PATH="/usr/share/alsa/alsa.conf:$tmp/$u.asound" \
    ip netns exec "$tag-${side[$u]}" "$bin/cueboxd" --root "$tmp/$u" run --listen 0.0.0.0 \
    --name "$u" --device bench --format FLOAT_LE --channels 2 --period 512 --periods 4 \
    --no-irq-routing --pair "$u" --peer "${ip[$o]}:53100" --peer-fingerprint "$(fp "$o")" \
    --pair-vip "$vip/24" --pair-interface "$tag-${side[$u]}" "${witness[@]}" \
    >>"$tmp/$u.log" 2>&1 &
  pid[$u]=$!
}
field() { # UNIT EXPR: a field of the unit's pair status, by Python expression on p
  host status "$1" --json 2>/dev/null |
    python3 -c "import json,sys; p=json.load(sys.stdin)['pair']; print($2)" 2>/dev/null || true
}

start backup
start main
for u in main backup; do
  for _ in $(seq 100); do [[ -f $tmp/$u/api/box.key ]] && break; sleep 0.1; done
  for _ in $(seq 50); do host pair "${ip[$u]}:53100" --name "$u" --fingerprint "$(fp "$u")" >/dev/null 2>&1 && break; sleep 0.2; done
  "$bin/cueboxd" --root "$tmp/$u" auth add "$(host key 2>/dev/null)" --role edit >/dev/null
done
sox -n -r 48000 -b 16 -c 2 "$tmp/tone.wav" synth 2 sine 440 gain -12
"$bin/hostctl" session new "$tmp/show" --media "$tmp/show/media" >/dev/null 2>&1
"$bin/hostctl" clip add "$tmp/show" "$tmp/tone.wav" --at 1,1 --group A >/dev/null 2>&1
for u in main backup; do host push "$tmp/show" --to "$u" >/dev/null; done

# Kills SIGKILL PID and times, from the host's namespace, until the control
# address accepts a TCP connection (50 ms attempts): milliseconds. A killed
# cueboxd tears down its gigabyte of locked memory before it closes its
# sockets: until its own address refuses, its listening socket still takes
# connections (on the control address too), so the polling starts after that.
cat >"$tmp/kill-and-time.py" <<'PY'
import os, signal, socket, sys, time
pid, own, vip = int(sys.argv[1]), sys.argv[2], sys.argv[3]
def answers(address):
    try:
        socket.create_connection((address, 53100), 0.05).close()
        return True
    except OSError:
        return False
t0 = time.monotonic()
os.kill(pid, signal.SIGKILL)
while answers(own):
    time.sleep(0.001)
while not answers(vip):
    time.sleep(0.005)
print(round((time.monotonic() - t0) * 1000, 1))
PY

times=()
for i in $(seq "$count"); do
  settled=
  for _ in $(seq 150); do
    for u in main backup; do
      if [[ $(field "$u" 'p["role"], p["takeover"]["holds_address"]') == "main True" &&
        $(field "${other[$u]}" 'p["role"], p["takeover"]["synced"]') == "backup True" ]]; then
        settled=$u
      fi
    done
    [[ -n $settled ]] && break
    sleep 0.1
  done
  if [[ -z $settled ]]; then
    echo "the pair did not settle; the units said:" >&2
    grep -h "pair:" "$tmp"/main.log "$tmp"/backup.log >&2
    exit 1
  fi
  ms=$(ip netns exec "$tag-h" python3 "$tmp/kill-and-time.py" "${pid[$settled]}" "${ip[$settled]}" "$vip")
  wait "${pid[$settled]}" 2>/dev/null || true
  echo "kill $i: the $settled died; ${other[$settled]} answered on $vip after $ms ms"
  times+=("$ms")
  start "$settled"
done
printf '%s\n' "${times[@]}" | sort -n | awk -v w="${WITNESS:-answers}" '
  { v[NR] = $1 }
  END {
    i50 = int((NR - 1) * 0.50 + 0.5) + 1; i99 = int((NR - 1) * 0.99 + 0.5) + 1
    printf "takeover over %d SIGKILLs of the main (kill -> control address answers), witness %s: p50 %.0f ms, p99 %.0f ms, max %.0f ms\n", NR, w, v[i50], v[i99], v[NR]
  }'
