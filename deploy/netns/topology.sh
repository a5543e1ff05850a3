#!/usr/bin/env bash
# Network namespaces for the multi-site tests and the network benchmark. Idempotent: `up` first
# removes anything left by an earlier run with the same prefix; `down` removes everything and
# never fails. Only 10.77.x.x addresses, and only inside the namespaces created here.
#
#   topology.sh up   <prefix> nat    households A and B behind their own NAT routers, a public
#                                    segment with a reachable node R between them:
#     <p>a 10.77.1.2 ── <p>ra [10.77.1.1 | NAT | 10.77.0.2] ──┐
#                                                            ├── <p>pub bridge, R = 10.77.0.1
#     <p>b 10.77.2.2 ── <p>rb [10.77.2.1 | NAT | 10.77.0.3] ──┘
#   topology.sh up   <prefix> lan    two hosts <p>m1 10.77.5.1 and <p>m2 10.77.5.2 on one bridge
#                                    (in namespace <p>sw), for mDNS
#   topology.sh up   <prefix> link   two hosts <p>x 10.77.9.1 and <p>y 10.77.9.2 joined by one
#                                    veth pair (benchmark link)
#   topology.sh down <prefix>
set -euo pipefail

cmd=${1:?usage: topology.sh up|down <prefix> [nat|lan|link]}
p=${2:?prefix missing (a few letters, e.g. ln1)}
kind=${3:-nat}
[[ "$p" =~ ^[a-z][a-z0-9]{1,6}$ ]] || { echo "prefix must be 2-7 lowercase letters/digits" >&2; exit 2; }

ns() { ip netns exec "$1" "${@:2}"; }

down() {
  for n in $(ip netns list 2>/dev/null | awk '{print $1}' | grep -E "^${p}(a|b|ra|rb|pub|m1|m2|sw|x|y)$" || true); do
    # Kill whatever still runs inside (nodes, miniupnpd, iperf3) before deleting the namespace.
    for pid in $(ip netns pids "$n" 2>/dev/null); do kill -9 "$pid" 2>/dev/null || true; done
    ip netns del "$n" 2>/dev/null || true
  done
  # veth ends left in the root namespace by a half-finished `up`
  for l in $(ip -o link show 2>/dev/null | awk -F': ' '{print $2}' | cut -d@ -f1 | grep -E "^${p}-" || true); do
    ip link del "$l" 2>/dev/null || true
  done
}

# veth <nsA> <ifA> <nsB> <ifB>: a pair with one end in each namespace
veth() {
  ip link add "$p-t1" type veth peer name "$p-t2"
  ip link set "$p-t1" netns "$1"
  ip link set "$p-t2" netns "$3"
  ns "$1" ip link set "$p-t1" name "$2"
  ns "$3" ip link set "$p-t2" name "$4"
  ns "$1" ip link set "$2" up
  ns "$3" ip link set "$4" up
}

mkns() {
  ip netns add "$1"
  ns "$1" ip link set lo up
}

up_nat() {
  mkns "${p}pub"; mkns "${p}ra"; mkns "${p}rb"; mkns "${p}a"; mkns "${p}b"
  ns "${p}pub" ip link add name lbr0 type bridge
  ns "${p}pub" ip link set lbr0 up
  ns "${p}pub" ip addr add 10.77.0.1/24 dev lbr0
  for side in a b; do
    local r="${p}r${side}" h="${p}${side}" wan lan
    if [ "$side" = a ]; then wan=10.77.0.2; lan=1; else wan=10.77.0.3; lan=2; fi
    veth "${p}pub" "port$side" "$r" wan
    ns "${p}pub" ip link set "port$side" master lbr0
    ns "$r" ip addr add "$wan/24" dev wan
    veth "$r" lan "$h" eth0
    ns "$r" ip addr add "10.77.$lan.1/24" dev lan
    ns "$h" ip addr add "10.77.$lan.2/24" dev eth0
    ns "$h" ip route add default via "10.77.$lan.1"
    ns "$r" sysctl -qw net.ipv4.ip_forward=1
    # A home router: masquerade outgoing traffic, drop unsolicited incoming connections.
    ns "$r" iptables -t nat -A POSTROUTING -o wan -j MASQUERADE
    ns "$r" iptables -A FORWARD -i lan -o wan -j ACCEPT
    ns "$r" iptables -A FORWARD -i wan -o lan -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT
    ns "$r" iptables -P FORWARD DROP
  done
}

up_lan() {
  mkns "${p}sw"; mkns "${p}m1"; mkns "${p}m2"
  ns "${p}sw" ip link add name lbr0 type bridge
  ns "${p}sw" ip link set lbr0 up
  local i=1
  for h in m1 m2; do
    veth "${p}sw" "port$h" "${p}$h" eth0
    ns "${p}sw" ip link set "port$h" master lbr0
    ns "${p}$h" ip addr add "10.77.5.$i/24" dev eth0
    # multicast (mDNS, 224.0.0.251) leaves through the bridge port
    ns "${p}$h" ip route add 224.0.0.0/4 dev eth0
    i=$((i + 1))
  done
}

up_link() {
  mkns "${p}x"; mkns "${p}y"
  veth "${p}x" eth0 "${p}y" eth0
  ns "${p}x" ip addr add 10.77.9.1/24 dev eth0
  ns "${p}y" ip addr add 10.77.9.2/24 dev eth0
}

case "$cmd" in
  up)
    down
    trap 'echo "topology.sh: setup failed, cleaning up" >&2; down' ERR
    case "$kind" in
      nat) up_nat ;;
      lan) up_lan ;;
      link) up_link ;;
      *) echo "unknown topology $kind (nat, lan, link)" >&2; exit 2 ;;
    esac
    trap - ERR
    ;;
  down) down ;;
  *) echo "usage: topology.sh up|down <prefix> [nat|lan|link]" >&2; exit 2 ;;
esac
