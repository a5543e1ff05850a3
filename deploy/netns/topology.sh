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
#   topology.sh up   <prefix> upnp   household A behind a router running miniupnpd (a real UPnP
#                                    IGD), an outside host O on the router's WAN segment:
#     <p>a 10.77.1.2 ── <p>ra [10.77.1.1 | NAT + miniupnpd | 11.77.0.2] ── <p>pub, O = 11.77.0.1
#                                    The WAN segment uses 11.77.0.0/24 because both miniupnpd and
#                                    libp2p refuse to map ports behind a private/reserved external
#                                    address (they treat it as double NAT); the segment exists only
#                                    inside these namespaces, which have no link to the host.
#   topology.sh up   <prefix> lan    two hosts <p>m1 10.77.5.1 and <p>m2 10.77.5.2 on one bridge
#                                    (in namespace <p>sw), for mDNS
#   topology.sh up   <prefix> link   two hosts <p>x 10.77.9.1 and <p>y 10.77.9.2 joined by one
#                                    veth pair (benchmark link)
#   topology.sh up   <prefix> wire [mbit] [delay_ms]
#                                    the same two hosts <p>x 10.77.8.1 and <p>y 10.77.8.2, joined
#                                    by a shaped link (default 50 Mbit/s, 20 ms each way) emulated
#                                    by deploy/netns/wire.py over TUN devices, for kernels without
#                                    tc netem
#   topology.sh down <prefix>
set -Eeuo pipefail

cmd=${1:?usage: topology.sh up|down <prefix> [nat|upnp|lan|link|wire]}
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

# up_nat <wan prefix> <sides...>: routers for the given households on a shared WAN bridge
up_nat() {
  local net=$1
  shift
  mkns "${p}pub"
  ns "${p}pub" ip link add name lbr0 type bridge
  ns "${p}pub" ip link set lbr0 up
  ns "${p}pub" ip addr add "$net.1/24" dev lbr0
  for side in "$@"; do
    local r="${p}r${side}" h="${p}${side}" wan lan
    mkns "$r"; mkns "$h"
    if [ "$side" = a ]; then wan=$net.2; lan=1; else wan=$net.3; lan=2; fi
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
    # ... except what a port mapping (UPnP) forwards on purpose.
    ns "$r" iptables -A FORWARD -i wan -o lan -m conntrack --ctstate DNAT -j ACCEPT
    ns "$r" iptables -P FORWARD DROP
  done
}

# A real IGD on router <p>ra: nftables chains for miniupnpd, then the daemon itself.
start_miniupnpd() {
  local r="${p}ra" dir="/tmp/lomo-netns-$p"
  mkdir -p "$dir"
  ns "$r" nft -f - <<NFT
table inet lomoupnp {
  chain forward { type filter hook forward priority -10; policy accept; jump miniupnpd; }
  chain miniupnpd { }
  chain prerouting { type nat hook prerouting priority -100; policy accept; jump prerouting_miniupnpd; }
  chain postrouting { type nat hook postrouting priority 100; policy accept; jump postrouting_miniupnpd; }
  chain prerouting_miniupnpd { }
  chain postrouting_miniupnpd { }
}
NFT
  cat > "$dir/miniupnpd.conf" <<CONF
ext_ifname=wan
listening_ip=lan
port=0
enable_natpmp=no
enable_upnp=yes
secure_mode=yes
system_uptime=yes
notify_interval=10
clean_ruleset_interval=600
uuid=3d3cec3a-8cf0-11e0-98ee-001a6bd2d07b
upnp_table_name=lomoupnp
upnp_nat_table_name=lomoupnp
allow 1024-65535 10.77.1.0/24 1024-65535
deny 0-65535 0.0.0.0/0 0-65535
CONF
  ns "$r" /usr/sbin/miniupnpd -f "$dir/miniupnpd.conf" -P "$dir/miniupnpd.pid"
  for _ in $(seq 50); do [ -s "$dir/miniupnpd.pid" ] && return 0; sleep 0.1; done
  echo "miniupnpd did not start" >&2
  return 1
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

up_wire() {
  local mbit=${1:-50} delay=${2:-20} dir="/tmp/lomo-netns-$p"
  mkns "${p}x"; mkns "${p}y"
  mkdir -p "$dir"
  ns "${p}x" ip tuntap add dev tun0 mode tun
  ns "${p}y" ip tuntap add dev tun0 mode tun
  # The wire process lives in <p>x, so `down` finds and stops it with the namespace.
  # Higher priority than the endpoints: on a loaded machine a starved emulator adds delay that
  # a real link would not have.
  ns "${p}x" nice -n -10 python3 "$(dirname "$0")/wire.py" "${p}x" tun0 "${p}y" tun0 "$mbit" "$delay" 1000 > "$dir/wire.out" 2>&1 &
  for _ in $(seq 50); do grep -q ready "$dir/wire.out" 2>/dev/null && break; sleep 0.1; done
  grep -q ready "$dir/wire.out" || { cat "$dir/wire.out" >&2; return 1; }
  local i=1
  for h in x y; do
    ns "${p}$h" ip addr add "10.77.8.$i/24" dev tun0
    ns "${p}$h" ip link set tun0 mtu 1500 up
    i=$((i + 1))
  done
}

case "$cmd" in
  up)
    down
    trap 'echo "topology.sh: setup failed, cleaning up" >&2; down' ERR
    case "$kind" in
      nat) up_nat 10.77.0 a b ;;
      upnp) up_nat 11.77.0 a; start_miniupnpd ;;
      lan) up_lan ;;
      link) up_link ;;
      wire) up_wire "${4:-50}" "${5:-20}" ;;
      *) echo "unknown topology $kind (nat, upnp, lan, link, wire)" >&2; exit 2 ;;
    esac
    trap - ERR
    ;;
  down) down; rm -rf "/tmp/lomo-netns-$p" ;;
  *) echo "usage: topology.sh up|down <prefix> [nat|upnp|lan|link|wire]" >&2; exit 2 ;;
esac
