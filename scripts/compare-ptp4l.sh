#!/usr/bin/env bash
# PTP slave accuracy: cuebox (statime on its virtual clock) beside ptp4l,
# each as a slave of the same free-running ptp4l grandmaster over a veth
# pair between two network namespaces. Both namespaces share the machine's
# clock, so the grandmaster's time is CLOCK_REALTIME and cuebox's true
# error is measurable; ptp4l (also free-running, so it never touches the
# clock) reports its own measured offset from the master.
#
#   scripts/compare-ptp4l.sh [SECONDS]     default 30; needs root, linuxptp
#
# Prints, over the last 10 s of each run, the RMS offset of each slave and
# their ratio (cuebox / ptp4l); ptp4l's is read from its current data set
# with pmc once a second. cuebox's virtual clock starts 1.5 s and
# +40 ppm off; ptp4l's clock starts exact (it is the system clock).
set -euo pipefail
secs=${1:-30}
root=$(cd "$(dirname "$0")/.." && pwd)
lib="$root/scripts/lib"
tag=cbcmp
cueboxd=${CUEBOXD:-$root/target/release/cueboxd}
[[ -x $cueboxd ]] || cargo build --release -q -p cueboxd --bin cueboxd
tmp=$(mktemp -d)
cleanup() { pkill -f "ptp4l.*$tag-" 2>/dev/null || true; "$lib/ptp-netns.sh" down $tag; rm -rf "$tmp"; }
trap cleanup EXIT
[[ -n ${KEEP:-} ]] && trap - EXIT
"$lib/ptp-netns.sh" down $tag
"$lib/ptp-netns.sh" up $tag
ip netns exec $tag-gm ptp4l -S -m -i $tag-g -f "$lib/ptp4l-gm.cfg" >"$tmp/gm.log" 2>&1 &
until grep -q "assuming the grand master role" "$tmp/gm.log"; do sleep 0.5; done

echo "cuebox: $secs s as slave (start error +1.5 s, +40 ppm)…" >&2
ip netns exec $tag-sl "$cueboxd" clock ptp --interface $tag-s --seconds "$secs" \
    --inject-offset 1.5 --inject-ppm 40 --json >"$tmp/cuebox.jsonl"

echo "ptp4l: $secs s as slave (free running)…" >&2
sed -e 's/^priority1 1/priority1 255/' "$lib/ptp4l-gm.cfg" >"$tmp/slave.cfg"
printf 'slaveOnly 1\nuds_address %s\n' "$tmp/ptp4l.sock" >>"$tmp/slave.cfg"
ip netns exec $tag-sl ptp4l -S -m -i $tag-s -f "$tmp/slave.cfg" >"$tmp/ptp4l.log" 2>&1 &
slave=$!
# Free running, ptp4l logs no offsets: its current data set holds them.
for _ in $(seq "$secs"); do
    sleep 1
    ip netns exec $tag-sl pmc -u -b 0 -s "$tmp/ptp4l.sock" -i "$tmp/pmc.sock" \
        'GET CURRENT_DATA_SET' 2>/dev/null | awk '/offsetFromMaster/ {print $2}' >>"$tmp/ptp4l.offsets"
done
kill $slave

python3 - "$tmp/cuebox.jsonl" "$tmp/ptp4l.offsets" "$secs" <<'PY'
import json, math, sys
cuebox = [json.loads(l) for l in open(sys.argv[1])]
secs = float(sys.argv[3])
tail = [l for l in cuebox if l["t_s"] > secs - 10]
true_rms = math.sqrt(sum(l["ptp_minus_system_ns"] ** 2 for l in tail) / len(tail))
own_rms = math.sqrt(sum(l["offset_from_master_ns"] ** 2 for l in tail) / len(tail))
offs = [float(l) for l in open(sys.argv[2]) if l.strip()]
# One reading a second: keep the last 10 s.
p = offs[-10:]
ptp4l_rms = math.sqrt(sum(o * o for o in p) / len(p)) if p else float("nan")
last = cuebox[-1]
print(f"cuebox  after {secs:.0f} s: error against the grandmaster {last['ptp_minus_system_ns'] / 1e3:+.3f} µs, "
      f"correction {last['correction_ppm']:+.3f} ppm, steps {last['steps']}")
print(f"cuebox  RMS (last 10 s): true error {true_rms / 1e3:.3f} µs, own offset estimate {own_rms / 1e3:.3f} µs")
print(f"ptp4l   RMS (last 10 s): own offset estimate {ptp4l_rms / 1e3:.3f} µs ({len(offs)} samples)")
print(f"ratio   cuebox/ptp4l (own estimates): {own_rms / ptp4l_rms:.2f}")
# ptp4l's clock is the grandmaster's, so its own estimate is also its error.
print(f"ratio   cuebox true error / ptp4l error: {true_rms / ptp4l_rms:.2f}")
PY
