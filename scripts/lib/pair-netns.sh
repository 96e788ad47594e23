#!/usr/bin/env bash
# A show network for a main/backup pair on one machine: three network
# namespaces (the main's, the backup's, the host's) on a bridge in a
# fourth, the switch. Used by the pair's takeover tests and
# scripts/bench-pair-takeover.sh.
#
#   pair-netns.sh up TAG     creates TAG-m (10.78.N.1 on TAG-m), TAG-b
#                            (10.78.N.2 on TAG-b), TAG-h (10.78.N.3 on TAG-h)
#                            on the bridge of TAG-sw; prints N. The control
#                            address for the pair is 10.78.N.10/24.
#   pair-netns.sh down TAG   removes them (the veths go with them)
#
# `ip -n TAG-sw link set TAG-mp down` cuts the main off the network.
set -euo pipefail
action=${1:?up|down}
tag=${2:?tag}
case "$action" in
up)
    net=$(( $(cksum <<<"$tag" | cut -d' ' -f1) % 200 + 20 ))
    ip netns add "$tag-sw"
    ip -n "$tag-sw" link add br0 type bridge
    ip -n "$tag-sw" link set br0 up
    i=1
    for side in m b h; do
        ip netns add "$tag-$side"
        ip link add "$tag-$side" netns "$tag-$side" type veth peer name "$tag-${side}p" netns "$tag-sw"
        ip -n "$tag-sw" link set "$tag-${side}p" master br0 up
        ip -n "$tag-$side" addr add "10.78.$net.$i/24" dev "$tag-$side"
        ip -n "$tag-$side" link set lo up
        ip -n "$tag-$side" link set "$tag-$side" up
        i=$((i + 1))
    done
    echo "$net"
    ;;
down)
    for side in m b h sw; do ip netns del "$tag-$side" 2>/dev/null || true; done
    ;;
*)
    echo "usage: $0 up|down TAG" >&2
    exit 2
    ;;
esac
