#!/usr/bin/env python3
"""A shaped point-to-point link between two network namespaces, for kernels without sch_netem.

The project's VMs run a kernel built without CONFIG_NET_SCH_NETEM (tc netem: "Specified qdisc
kind is unknown"), so the benchmark's "50 Mbit/s, 40 ms round trip" link is emulated here, at the
packet level like netem: each namespace gets a TUN device, and this process moves IP packets
between them. Per direction: serialisation at RATE (a packet leaves the queue size*8/RATE after the
previous one), then DELAY of propagation; a packet that would wait more than LIMIT packets in the
queue is dropped (tail drop, as netem's `limit`). TCP on both ends sees a real bottleneck and a
real RTT, so iperf3 and lomo-peer are compared on the same link.

usage: wire.py <nsA> <devA> <nsB> <devB> <rate_mbit> <delay_ms> [limit_packets]
The TUN devices must exist (ip tuntap add dev <dev> mode tun) in their namespaces.
"""
import ctypes
import fcntl
import os
import select
import struct
import sys
import time
from collections import deque

TUNSETIFF = 0x400454CA
IFF_TUN = 0x0001
IFF_NO_PI = 0x1000
CLONE_NEWNET = 0x40000000

libc = ctypes.CDLL("libc.so.6", use_errno=True)


def enter_netns(name):
    fd = os.open(f"/run/netns/{name}", os.O_RDONLY)
    if libc.setns(fd, CLONE_NEWNET) != 0:
        raise OSError(ctypes.get_errno(), f"setns {name}")
    os.close(fd)


def open_tun(ns, dev):
    enter_netns(ns)
    fd = os.open("/dev/net/tun", os.O_RDWR | os.O_NONBLOCK)
    fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", dev.encode(), IFF_TUN | IFF_NO_PI))
    return fd


def main():
    ns_a, dev_a, ns_b, dev_b = sys.argv[1:5]
    rate = float(sys.argv[5]) * 1e6 / 8  # bytes per second
    delay = float(sys.argv[6]) / 1000
    limit = int(sys.argv[7]) if len(sys.argv) > 7 else 1000
    fa = open_tun(ns_a, dev_a)
    fb = open_tun(ns_b, dev_b)
    # per direction: queue of (deliver_at, packet), and when the bottleneck is free again
    lanes = {fa: [fb, deque(), 0.0], fb: [fa, deque(), 0.0]}
    poller = select.poll()
    poller.register(fa, select.POLLIN)
    poller.register(fb, select.POLLIN)
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    while True:
        now = time.monotonic()
        due = min((lane[1][0][0] for lane in lanes.values() if lane[1]), default=None)
        timeout = None if due is None else max(0, (due - now) * 1000)
        for fd, _ in poller.poll(timeout):
            lane = lanes[fd]
            for _ in range(256):
                try:
                    pkt = os.read(fd, 65536)
                except BlockingIOError:
                    break
                now = time.monotonic()
                if len(lane[1]) >= limit:
                    continue  # tail drop
                start = max(now, lane[2])
                lane[2] = start + len(pkt) / rate
                lane[1].append((lane[2] + delay, pkt))
        now = time.monotonic()
        for lane in lanes.values():
            out, q = lane[0], lane[1]
            while q and q[0][0] <= now:
                _, pkt = q.popleft()
                try:
                    os.write(out, pkt)
                except (BlockingIOError, OSError):
                    pass  # the kernel dropped it, as a full NIC would


if __name__ == "__main__":
    main()
