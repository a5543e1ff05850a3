import { describe, expect, it } from 'vitest';
import { multiaddr } from '@multiformats/multiaddr';
import { addressKey, InboundLimiter, type PendingConnection } from '../../node/host/inbound-limit.js';

/** A raw connection as the gater sees it before Noise: an address, abort(), a close event. */
class RawConn implements PendingConnection {
  readonly remoteAddr;
  aborted = false;
  private onClose: (() => void) | null = null;
  constructor(ip: string) {
    this.remoteAddr = multiaddr(ip.includes(':') ? `/ip6/${ip}/tcp/4000` : `/ip4/${ip}/tcp/4000`);
  }
  abort(): void {
    this.aborted = true;
    this.onClose?.();
  }
  addEventListener(_type: 'close', listener: () => void): void {
    this.onClose = listener;
  }
}

describe('inbound limiter (pending connections before Noise)', () => {
  const limiter = (family: string[] = []) => new InboundLimiter({ familyAddresses: () => family, log: () => {}, perAddress: 4, strangers: 8, perSecond: Infinity });

  it('keys IPv4 addresses whole and IPv6 addresses by their /64; relayed addresses are not limited', () => {
    expect(addressKey(multiaddr('/ip4/203.0.113.7/tcp/1'))).toBe('203.0.113.7');
    expect(addressKey('/ip6/2001:db8:0:12::5/tcp/1')).toBe(addressKey('/ip6/2001:db8:0:12:ffff::1/tcp/9'));
    expect(addressKey('/ip6/2001:db8:0:12::5/tcp/1')).not.toBe(addressKey('/ip6/2001:db8:0:13::5/tcp/1'));
    expect(addressKey('/ip4/1.2.3.4/tcp/1/p2p/12D3KooWRBy97UB99e3J6hiPesre1MZeuNQvfan4gBziswrRJsNK/p2p-circuit')).toBeNull();
    expect(addressKey('/p2p-circuit')).toBeNull();
    expect(addressKey('not a multiaddr')).toBeNull();
  });

  it('one address holds at most 4 pending connections: a fifth closes the oldest, other addresses are untouched', () => {
    const l = limiter();
    const stalled = Array.from({ length: 50 }, () => new RawConn('198.51.100.9'));
    for (const c of stalled) expect(l.admit(c)).toBe(true);
    expect(l.pendingCount('198.51.100.9')).toBe(4);
    expect(stalled.filter((c) => !c.aborted)).toEqual(stalled.slice(46));
    const other = new RawConn('192.0.2.1');
    expect(l.admit(other)).toBe(true);
    expect(other.aborted).toBe(false);
    l.settled(other); // its handshake ended
    expect(l.pendingCount('192.0.2.1')).toBe(0);
  });

  it('strangers together hold at most the stranger pool; family addresses are never limited nor counted', () => {
    const l = limiter(['192.0.2.50']);
    const conns = Array.from({ length: 12 }, (_, i) => new RawConn(`198.51.100.${i + 1}`));
    for (const c of conns) l.admit(c);
    expect(l.pendingCount()).toBe(8);
    expect(conns.slice(0, 4).every((c) => c.aborted)).toBe(true); // the oldest made room
    const family = Array.from({ length: 20 }, () => new RawConn('192.0.2.50'));
    for (const c of family) expect(l.admit(c)).toBe(true);
    expect(family.some((c) => c.aborted)).toBe(false);
    expect(l.pendingCount()).toBe(8);
  });

  it('an address cooling down is refused until the cooldown ends, a family address never', () => {
    const l = limiter(['192.0.2.50']);
    const now = Date.now();
    l.coolDown('/ip4/198.51.100.9/tcp/5555', now + 1_000);
    l.coolDown('/ip4/192.0.2.50/tcp/5555', now + 1_000);
    expect(l.admit(new RawConn('198.51.100.9'), now)).toBe(false);
    expect(l.admit(new RawConn('198.51.100.10'), now)).toBe(true);
    expect(l.admit(new RawConn('192.0.2.50'), now)).toBe(true);
    expect(l.admit(new RawConn('198.51.100.9'), now + 1_001)).toBe(true);
  });
});

describe('inbound limiter: connection rate', () => {
  it('a stranger address opens at most 5 connections a second; a family address is not counted', () => {
    const l = new InboundLimiter({ familyAddresses: () => ['192.0.2.50'], log: () => {} });
    const t = 1_700_000_000_000;
    const admitted = Array.from({ length: 8 }, (_, i) => l.admit(new RawConn('198.51.100.9'), t + i));
    expect(admitted).toEqual([true, true, true, true, true, false, false, false]);
    expect(Array.from({ length: 20 }, () => l.admit(new RawConn('192.0.2.50'), t)).every(Boolean)).toBe(true);
    expect(l.admit(new RawConn('198.51.100.9'), t + 1_000)).toBe(true); // the next second
  });
});
