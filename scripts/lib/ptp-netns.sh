#!/usr/bin/env bash
# Two network namespaces joined by a veth pair: a PTP grandmaster's and a
# slave's. Used by the PTP tests and scripts/compare-ptp4l.sh.
#
#   ptp-netns.sh up TAG     creates TAG-gm (10.77.N.1 on TAG-g) and
#                           TAG-sl (10.77.N.2 on TAG-s)
#   ptp-netns.sh down TAG   removes both (and the veth pair with them)
#
# The veths get fixed MACs: a PTP clock identity comes from the MAC.
set -euo pipefail
action=${1:?up|down}
tag=${2:?tag}
case "$action" in
up)
    net=$(( $(cksum <<<"$tag" | cut -d' ' -f1) % 200 + 20 ))
    ip netns add "$tag-gm"
    ip netns add "$tag-sl"
    ip link add "$tag-g" type veth peer name "$tag-s"
    ip link set "$tag-g" netns "$tag-gm"
    ip link set "$tag-s" netns "$tag-sl"
    ip -n "$tag-gm" link set "$tag-g" address 00:16:3e:77:00:01
    ip -n "$tag-sl" link set "$tag-s" address 00:16:3e:77:00:02
    ip -n "$tag-gm" addr add "10.77.$net.1/24" dev "$tag-g"
    ip -n "$tag-sl" addr add "10.77.$net.2/24" dev "$tag-s"
    for ns in gm sl; do ip -n "$tag-$ns" link set lo up; done
    ip -n "$tag-gm" link set "$tag-g" up
    ip -n "$tag-sl" link set "$tag-s" up
    ;;
down)
    ip netns del "$tag-gm" 2>/dev/null || true
    ip netns del "$tag-sl" 2>/dev/null || true
    ;;
*)
    echo "usage: $0 up|down TAG" >&2
    exit 2
    ;;
esac
