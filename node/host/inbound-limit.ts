import { multiaddr, type Multiaddr } from '@multiformats/multiaddr';
import { tryGetNetConfig } from '@libp2p/utils';

/**
 * Inbound connections before Noise. Until the handshake ends, libp2p knows only the remote IP
 * address of a TCP connection, and by default it holds 10 such pending connections for 10 s
 * each, for everybody: ten idle sockets from one address blocked every inbound connection
 * (issue 13). This module decides, in the gater's `denyInboundConnection` (before any byte of
 * Noise), which pending connection a node keeps:
 *   - family addresses (where trusted members were last seen or say they listen, from the
 *     catalog) are never limited here: a member is admitted while a stranger stalls;
 *   - any other address may open STRANGER_CONNECTIONS_PER_SECOND connections a second, holds at
 *     most PENDING_PER_ADDRESS pending connections, and all such addresses together at most
 *     PENDING_STRANGERS;
 *   - at a limit, the oldest pending connection is closed to make room: a new connection never
 *     waits behind a stalled one, so an attacker must open connections faster than an honest
 *     handshake completes (milliseconds), which the rate limit forbids;
 *   - an address cooling down after a stranger's probation ended (node/host/probation.ts) is
 *     refused outright.
 * A connection stops being pending when its Noise handshake ends (denyInboundEncryptedConnection)
 * or it closes. libp2p's own limits stay as backstops far above ours (its global pending count,
 * MAX_PENDING_INBOUND, and its rate per address, INBOUND_CONNECTIONS_PER_SECOND, which applied
 * to family members too: four members behind one address reconnecting were refused); the upgrade
 * timeout bounds a stall in time.
 */
export const PENDING_PER_ADDRESS = 4;
export const PENDING_STRANGERS = 32;
export const STRANGER_CONNECTIONS_PER_SECOND = 5;
/** libp2p's inboundConnectionThreshold (per address and second, family included): a backstop. */
export const INBOUND_CONNECTIONS_PER_SECOND = 100;
/** libp2p's maxIncomingPendingConnections: only a backstop (strangers are stopped far below). */
export const MAX_PENDING_INBOUND = 256;
/** libp2p's inboundUpgradeTimeout: Noise + muxer in a few RTTs, even over a relay (default 10 s). */
export const INBOUND_UPGRADE_TIMEOUT_MS = 5_000;
/** How long the family address list read from the catalog is reused. */
export const FAMILY_ADDRESSES_REFRESH_MS = 5_000;

/** The part of libp2p's MultiaddrConnection the limiter uses. */
export interface PendingConnection {
  readonly remoteAddr: Multiaddr;
  abort(err: Error): void;
  addEventListener(type: 'close', listener: () => void, options?: { once?: boolean }): void;
}

/**
 * What limits apply to: an IPv4 address, or the /64 of an IPv6 address (one household gets a
 * whole /64, and an attacker as many addresses in it as it likes). Null for what is not an IP
 * address (a relayed connection: the relay bounds those).
 */
export function addressKey(ma: Multiaddr | string): string | null {
  let cfg: ReturnType<typeof tryGetNetConfig>;
  try {
    const addr = typeof ma === 'string' ? multiaddr(ma) : ma;
    if (addr.toString().includes('/p2p-circuit')) return null; // the relay's address, not the remote's
    cfg = tryGetNetConfig(addr);
  } catch {
    return null;
  }
  if (cfg?.type === 'ip4') return cfg.host;
  if (cfg?.type === 'ip6') return ipv6Prefix64(cfg.host);
  return null;
}

function ipv6Prefix64(host: string): string {
  const [head = '', tail = ''] = host.toLowerCase().split('::');
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const groups = host.includes('::') ? [...left, ...Array(Math.max(0, 8 - left.length - right.length)).fill('0'), ...right] : left;
  return `${groups.slice(0, 4).map((g) => g.replace(/^0+(?=.)/, '')).join(':')}::/64`;
}

export interface InboundLimiterOptions {
  /** Address keys (addressKey) of trusted members; read again every FAMILY_ADDRESSES_REFRESH_MS. */
  familyAddresses: () => Iterable<string>;
  log: (msg: string) => void;
  perAddress?: number;
  strangers?: number;
  perSecond?: number;
}

export class InboundLimiter {
  /** Pending connections from non-family addresses, oldest first, with their address key. */
  private readonly pending = new Map<PendingConnection, string>();
  private readonly perKey = new Map<string, number>();
  private readonly cooling = new Map<string, number>();
  /** Connections opened in the current second, per non-family address. */
  private readonly rate = new Map<string, { second: number; n: number }>();
  private family: { keys: Set<string>; at: number } | null = null;

  constructor(private readonly opts: InboundLimiterOptions) {}

  private isFamily(key: string, now: number): boolean {
    if (!this.family || now - this.family.at > FAMILY_ADDRESSES_REFRESH_MS) {
      this.family = { keys: new Set(this.opts.familyAddresses()), at: now };
    }
    return this.family.keys.has(key);
  }

  /** Called before Noise: may this raw connection start its handshake? */
  admit(conn: PendingConnection, now = Date.now()): boolean {
    const key = addressKey(conn.remoteAddr);
    if (key === null || this.isFamily(key, now)) return true;
    const until = this.cooling.get(key);
    if (until !== undefined) {
      if (until > now) {
        this.opts.log(`refused inbound connection from ${key}: cooling down after a probation`);
        return false;
      }
      this.cooling.delete(key);
    }
    if (!this.withinRate(key, now)) {
      this.opts.log(`refused inbound connection from ${key}: more than ${this.opts.perSecond ?? STRANGER_CONNECTIONS_PER_SECOND} a second`);
      return false;
    }
    if ((this.perKey.get(key) ?? 0) >= (this.opts.perAddress ?? PENDING_PER_ADDRESS)) this.evictOldest(key);
    if (this.pending.size >= (this.opts.strangers ?? PENDING_STRANGERS)) this.evictOldest(null);
    this.pending.set(conn, key);
    this.perKey.set(key, (this.perKey.get(key) ?? 0) + 1);
    conn.addEventListener('close', () => this.settled(conn), { once: true });
    return true;
  }

  /** The connection finished its handshake or closed: it no longer counts. */
  settled(conn: PendingConnection): void {
    const key = this.pending.get(conn);
    if (key === undefined) return;
    this.pending.delete(conn);
    const n = (this.perKey.get(key) ?? 1) - 1;
    if (n > 0) this.perKey.set(key, n);
    else this.perKey.delete(key);
  }

  /** Refuses every connection from the address of `addr` (unless family) until `until`. */
  coolDown(addr: Multiaddr | string, until: number): void {
    const key = addressKey(addr);
    if (key === null) return;
    this.cooling.set(key, until);
    // Bounded: drop entries that ended (a scan only when the map grows).
    if (this.cooling.size > 1024) for (const [k, t] of this.cooling) if (t <= Date.now()) this.cooling.delete(k);
  }

  /** Pending connections from non-family addresses (for tests and the status page). */
  pendingCount(key?: string): number {
    return key === undefined ? this.pending.size : (this.perKey.get(key) ?? 0);
  }

  private withinRate(key: string, now: number): boolean {
    const second = Math.floor(now / 1000);
    const r = this.rate.get(key);
    if (!r || r.second !== second) {
      if (this.rate.size > 1024) for (const [k, v] of this.rate) if (v.second !== second) this.rate.delete(k);
      this.rate.set(key, { second, n: 1 });
      return true;
    }
    r.n++;
    return r.n <= (this.opts.perSecond ?? STRANGER_CONNECTIONS_PER_SECOND);
  }

  private evictOldest(key: string | null): void {
    for (const [conn, k] of this.pending) {
      if (key !== null && k !== key) continue;
      this.settled(conn);
      this.opts.log(`closing a stalled inbound handshake from ${k} to make room`);
      conn.abort(new Error('stalled handshake closed to make room'));
      return;
    }
  }
}
