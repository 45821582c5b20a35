#!/usr/bin/env bash
# A network namespace standing for the "outside host" Tempest runs on when it logs into
# guests (Tempest's validation): it sits on the public network's bridge and reaches the
# cloud's API over a veth pair to the host, and nothing else. The host gets no address on
# the public network, so floating IPs are reached only from inside the namespace; the
# namespace forwards nothing, so guests reach nothing through it.
#
#   tools/tempest_netns.sh up <ns> <public_bridge> <outside_cidr> <api_host_cidr> <api_ns_cidr>
#   tools/tempest_netns.sh down <ns> <public_bridge>
#
# e.g. tools/tempest_netns.sh up tsv-tempest tsv-ex 203.0.113.1/24 198.51.100.1/30 198.51.100.2/30
# then a cloud with [DEFAULT] bind_host = 198.51.100.1 and [network] bridge_mappings =
# public:tsv-ex, its public subnet 203.0.113.0/24 with gateway 203.0.113.1 (the
# namespace), and TEMPEST_NETNS=tsv-tempest tools/tempest.sh ...
# The bridge is made here when missing (the network agent takes an existing one and
# leaves it in place when it stops); `down` removes the namespace, its veths and the
# bridge once nothing else is plugged into it. As root.
set -euo pipefail
ACTION=${1:?up or down}
NS=${2:?namespace name}
BRIDGE=${3:?public bridge}
OUT=$NS-o   # host side of the veth into the public bridge
API=$NS-a   # host side of the veth carrying the API
[ ${#OUT} -le 15 ] || { echo "namespace name too long for its links: $NS" >&2; exit 2; }

up() {
    local outside=${1:?outside address/prefix} api_host=${2:?host API address/prefix}
    local api_ns=${3:?namespace API address/prefix}
    [ -e "/sys/class/net/$BRIDGE" ] || ip link add "$BRIDGE" type bridge
    ip link set "$BRIDGE" up
    ip netns add "$NS"
    ip -n "$NS" link set lo up
    ip netns exec "$NS" sysctl -qw net.ipv4.ip_forward=0 net.ipv6.conf.all.forwarding=0
    ip link add "$OUT" type veth peer name eth0 netns "$NS"
    ip link set "$OUT" master "$BRIDGE" up
    ip -n "$NS" addr add "$outside" dev eth0
    ip -n "$NS" link set eth0 up
    ip link add "$API" type veth peer name eth1 netns "$NS"
    ip addr add "$api_host" dev "$API"
    ip link set "$API" up
    ip -n "$NS" addr add "$api_ns" dev eth1
    ip -n "$NS" link set eth1 up
}

down() {
    ip netns delete "$NS" 2>/dev/null || true   # takes both veths with it
    for link in "$OUT" "$API"; do
        [ ! -e "/sys/class/net/$link" ] || ip link delete "$link"
    done
    if [ -e "/sys/class/net/$BRIDGE" ] && [ -z "$(ls "/sys/class/net/$BRIDGE/brif")" ]; then
        ip link delete "$BRIDGE"
    fi
}

case $ACTION in
up) shift 3 && up "$@" ;;
down) down ;;
*) echo "usage: $0 up|down <ns> <public_bridge> ..." >&2 && exit 2 ;;
esac
