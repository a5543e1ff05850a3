import os from 'node:os';
import type { Connection, PeerId } from '@libp2p/interface';
import { peerIdFromString } from '@libp2p/peer-id';
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr';
import { CatalogError, openCatalog, type Db } from '../../storage/catalog/db.js';
import { loadOrCreateIdentity, type SiteIdentity } from '../identity.js';
import { log } from '../log.js';
import { EXIT, UserError } from '../exit-codes.js';
import { Admission, PROBATION_MS } from './admission.js';
import { trustGater } from './gater.js';
import { InboundLimiter } from './inbound-limit.js';
import { familyAddressKeys } from './family-addresses.js';
import { restrictToFamily } from './family-only.js';
import { throttledLog } from './log-throttle.js';
import { Probation } from './probation.js';
import { createHost, type Host } from './host.js';
import type { ProtocolService, ServiceComponents } from '../../protocol/service.js';
import { decodeInviteCode, pairingService, type InviteCode, type JoinOptions, type JoinResult, type Pairing } from '../../protocol/pairing/index.js';
import { familyService, type Family } from '../../protocol/family/index.js';
import { speedtestService, type Speedtest, type SpeedtestResult } from '../../protocol/speedtest/index.js';
import { purgeExpiredSecrets } from '../../storage/trust/invites.js';
import { isTrusted, listPeers, localSiteName, markSeen, revokedPeerIds, revokePeer, setLocalSiteName } from '../../storage/trust/peers.js';

export interface NodeOptions {
  dbFile: string;
  dataDir: string;
  listen: string[];
  announce?: string[];
  mdns?: boolean;
  mdnsIntervalMs?: number;
  upnp?: boolean;
  upnpGateways?: string[];
  relayServer?: boolean;
  relayClient?: boolean;
  /** This site's name (stored in the catalog; default: the stored one, else the host name). */
  siteName?: string;
  /** How long a stranger admitted during an open invite may stay without pairing (ms). */
  probationMs?: number;
  /** How often to re-dial trusted peers that are not connected, and sweep revocations (ms). */
  maintenanceMs?: number;
}

export interface InviteRequest {
  expiresMs: number;
  quota: number | null;
  label: string;
}

const DIAL_TIMEOUT_MS = 20_000;
/** What services log (warnings name peers): repeated lines about one peer are throttled. */
const serviceLog = throttledLog(log);
const RELAY_HOP_PROTOCOL = '/libp2p/circuit/relay/0.2.0/hop';
/** How long a node connected to a family relay waits for its reservation before reconnecting. */
const RELAY_GRACE_MS = 10_000;

/**
 * A running site: its catalog, identity, libp2p host and the lomo protocols. Used by
 * `lomo-peer node` (long-running) and by a short-lived `join` when no node runs.
 */
export class LomoNode {
  private timer: NodeJS.Timeout | null = null;
  /** The wire protocols this node serves, registered and started together (see wire()). */
  private services: ProtocolService[] = [];
  private pairing!: Pairing;
  private family!: Family;
  private speedtester!: Speedtest;
  private stopped = false;
  private relayStuckSince: number | null = null;
  /** Connections identify was run on again after their peer became a member. */
  private readonly identified = new Set<string>();

  private constructor(
    readonly db: Db,
    readonly identity: SiteIdentity,
    readonly host: Host,
    readonly admission: Admission,
    private readonly probation: Probation,
    private readonly opts: NodeOptions,
  ) {}

  static async start(opts: NodeOptions): Promise<LomoNode> {
    const identity = await loadOrCreateIdentity(opts.dataDir);
    let db: Db;
    try {
      db = openCatalog(opts.dbFile);
    } catch (err) {
      if (err instanceof CatalogError) throw new UserError(err.message, EXIT.CATALOG);
      throw err;
    }
    try {
      if (opts.siteName) setLocalSiteName(db, opts.siteName);
      else if (!localSiteName(db)) setLocalSiteName(db, os.hostname());
      const admission = new Admission(db);
      const limiter = new InboundLimiter({ familyAddresses: () => familyAddressKeys(db), log: (m) => log.debug(m) });
      const gater = trustGater(admission, (id, dir) => log.debug(`refused ${dir} connection with untrusted peer ${id}`), limiter);
      const host = await createHost({
        privateKey: identity.privateKey,
        listen: opts.listen,
        announce: opts.announce ?? [],
        gater,
        mdns: opts.mdns ?? false,
        mdnsIntervalMs: opts.mdnsIntervalMs,
        upnp: opts.upnp ?? false,
        upnpGateways: opts.upnpGateways,
        relayServer: opts.relayServer ?? false,
        relayClient: opts.relayClient ?? false,
        isFamily: (id) => admission.trusted(id),
      });
      const probation = new Probation({ probationMs: opts.probationMs ?? PROBATION_MS, admission, limiter, trusted: (id) => admission.trusted(id), log: serviceLog });
      const node = new LomoNode(db, identity, host, admission, probation, opts);
      await node.wire();
      try {
        await host.start();
      } catch (err) {
        // libp2p lists every failed address with a stack trace; keep the "addr: Error: reason" lines.
        const msg = (err as Error).message;
        const reasons = msg.split('\n').filter((l) => /^\s*\/.*: Error: /.test(l)).map((l) => l.trim().replace(': Error: ', ': '));
        const hint = /EADDRINUSE/.test(msg) ? ' (another program uses the port: pick another --listen port)' : '';
        throw new UserError(`cannot start the network node: ${reasons.length > 0 ? reasons.join('; ') : msg}${hint}`, EXIT.NETWORK);
      }
      // Identify and ping registered their handlers in start(): strangers may use neither.
      await restrictToFamily(host, (id) => admission.trusted(id), (id, p) => log.debug(`refused ${p} stream from untrusted peer ${id}`));
      node.timer = setInterval(() => void node.maintain(), opts.maintenanceMs ?? 15_000);
      void node.maintain();
      return node;
    } catch (err) {
      db.close();
      throw err;
    }
  }

  get peerId(): string {
    return this.identity.siteId;
  }

  siteName(): string {
    return localSiteName(this.db) ?? os.hostname();
  }

  /** Addresses others can dial, without the trailing /p2p/<self>; routable ones first. */
  addrs(): string[] {
    const suffix = `/p2p/${this.peerId}`;
    const all = this.host.getMultiaddrs().map((a) => {
      const s = a.toString();
      return s.endsWith(suffix) ? s.slice(0, -suffix.length) : s;
    });
    const rank = (s: string) => (s.includes('/p2p-circuit') ? 1 : /\/ip4\/127\.|\/ip6\/::1\//.test(s) ? 2 : 0);
    return [...new Set(all)].sort((a, b) => rank(a) - rank(b));
  }

  /**
   * Addresses to give other sites (codes, pairing, rosters): loopback only when there is nothing
   * else (a loopback address in a code would make the joiner dial itself).
   */
  shareableAddrs(): string[] {
    const all = this.addrs();
    const remote = all.filter((a) => !/\/ip4\/127\.|\/ip6\/::1\//.test(a));
    return (remote.length > 0 ? remote : all).slice(0, 16);
  }

  /**
   * Builds the protocol services from their factories, registers them (each behind the one trust
   * wrapper, protocol/service.ts) and hooks the host's connection events.
   */
  private async wire(): Promise<void> {
    const h = this.host;
    const components: ServiceComponents = { host: h, trust: this.admission, log: serviceLog };
    const self = () => ({ name: this.siteName(), addrs: this.shareableAddrs() });
    this.pairing = pairingService({
      db: this.db,
      selfPeerId: this.peerId,
      selfInfo: self,
      members: () => this.family.roster().members,
      onPaired: () => this.pushRoster(),
      dial: (peerId, addrs) => this.dialPeer(peerId, addrs),
    })(components);
    this.family = familyService({
      db: this.db,
      selfPeerId: this.peerId,
      selfInfo: self,
      onRoster: (from, roster, added) => {
        this.admission.setRelayWindow(from, roster.inviteUntil);
        for (const m of added) {
          log.info(`family member ${from} introduced ${m.name} (${m.peerId})`);
          void this.dialPeer(m.peerId, m.addrs.map((a) => multiaddr(a))).catch((err) => log.debug(`dial ${m.peerId}: ${err.message}`));
        }
      },
    })(components);
    this.speedtester = speedtestService()(components);
    this.services = [this.pairing, this.family, this.speedtester];
    await Promise.all(this.services.map((s) => s.start()));
    h.addEventListener('connection:open', (evt) => this.probation.watch(evt.detail));
    h.addEventListener('peer:connect', (evt) => this.onPeerConnect(evt.detail));
    h.addEventListener('peer:disconnect', (evt) => {
      const id = evt.detail.toString();
      if (isTrusted(this.db, id)) markSeen(this.db, id, null, null);
    });
    h.addEventListener('peer:discovery', (evt) => {
      const id = evt.detail.id.toString();
      if (isTrusted(this.db, id) && h.getConnections(evt.detail.id).length === 0) {
        // mDNS, or addresses learnt by identify/rosters: either way, a family member to dial.
        log.info(`discovered family member ${id} at ${evt.detail.multiaddrs.map(String).join(' ') || '(no address)'}`);
        void this.dialPeer(id, evt.detail.multiaddrs).catch((err) => log.debug(`dial ${id} failed: ${err.message}`));
      }
    });
  }

  private onPeerConnect(peer: PeerId): void {
    const id = peer.toString();
    if (!isTrusted(this.db, id)) return;
    const conn = this.host.getConnections(peer)[0];
    markSeen(this.db, id, conn ? conn.remoteAddr.toString() : null, null);
    void this.syncRoster(id);
  }

  private async syncRoster(peerId: string): Promise<void> {
    try {
      await this.family.sync(peerId);
    } catch (err) {
      log.debug(`roster exchange with ${peerId} failed: ${(err as Error).message}`);
    }
  }

  /** Tells every connected family member about a change (new member, invite opened). */
  pushRoster(): void {
    for (const p of this.host.getPeers()) {
      const id = p.toString();
      if (isTrusted(this.db, id)) void this.syncRoster(id);
    }
  }

  async dialPeer(peerId: string, addrs: Multiaddr[]): Promise<Connection> {
    const pid = peerIdFromString(peerId);
    if (addrs.length > 0) await this.host.peerStore.merge(pid, { multiaddrs: addrs });
    return this.host.dial(pid, { signal: AbortSignal.timeout(DIAL_TIMEOUT_MS) });
  }

  /** Periodic upkeep: cut revoked peers, re-dial absent family members, forget dead secrets. */
  async maintain(): Promise<void> {
    if (this.stopped) return;
    try {
      for (const id of revokedPeerIds(this.db)) this.hangUp(id);
      purgeExpiredSecrets(this.db);
      await this.identifyNewMembers();
      await this.kickRelayIfStuck();
      const dials = listPeers(this.db)
        .filter((p) => this.host.getConnections(peerIdFromString(p.peerId)).length === 0)
        .map((p) => this.dialPeer(p.peerId, p.addrs.map((a) => multiaddr(a))).catch((err) => log.debug(`redial ${p.peerId}: ${err.message}`)));
      await Promise.all(dials);
    } catch (err) {
      if (!this.stopped) log.warn(`maintenance failed: ${(err as Error).message}`);
    }
  }

  /**
   * Identify answers family members only (family-only.ts), so a peer that became a member while
   * connected (a joiner, the relay it came through) was refused at connection open and its
   * protocols are unknown: the relay transport would not see a family relay. Ask again, once per
   * connection.
   */
  private async identifyNewMembers(): Promise<void> {
    for (const conn of this.host.getConnections()) {
      const id = conn.remotePeer.toString();
      if (this.identified.has(conn.id) || conn.status !== 'open' || !isTrusted(this.db, id)) continue;
      const known = await this.host.peerStore.get(conn.remotePeer).catch(() => null);
      // An agent version in the peer store means an identify exchange went through (stream
      // negotiations alone also record protocols).
      if (known?.metadata.has('AgentVersion')) continue;
      this.identified.add(conn.id);
      if (this.identified.size > 4096) this.identified.clear();
      await this.host.services.identify.identify(conn, { signal: AbortSignal.timeout(DIAL_TIMEOUT_MS) }).catch((err) => log.debug(`identify ${id}: ${err.message}`));
    }
  }

  /**
   * The relay transport reserves a slot when identify reports a HOP-capable peer; if that moment
   * was missed (seen once in tests under load), no circuit address ever appears. After a grace
   * period, reconnecting to the family relay makes identify run again.
   */
  private async kickRelayIfStuck(): Promise<void> {
    if (!this.opts.relayClient || this.addrs().some((a) => a.includes('/p2p-circuit'))) {
      this.relayStuckSince = null;
      return;
    }
    const relays = [];
    for (const peer of this.host.getPeers()) {
      if (!isTrusted(this.db, peer.toString())) continue;
      const known = await this.host.peerStore.get(peer).catch(() => null);
      if (known?.protocols.includes(RELAY_HOP_PROTOCOL)) relays.push(peer);
    }
    if (relays.length === 0) {
      this.relayStuckSince = null;
      return;
    }
    this.relayStuckSince ??= Date.now();
    if (Date.now() - this.relayStuckSince < RELAY_GRACE_MS) return;
    this.relayStuckSince = null;
    log.info(`no relay reservation yet: reconnecting to family relay ${relays[0]!.toString()}`);
    for (const c of this.host.getConnections(relays[0]!)) await c.close().catch(() => c.abort(new Error('relay kick')));
  }

  private hangUp(peerId: string): void {
    for (const c of this.host.getConnections(peerIdFromString(peerId))) {
      void c.close().catch(() => c.abort(new Error('revoked')));
    }
  }

  /** Registers a new single-use invite and returns its code. */
  async invite(req: InviteRequest): Promise<{ code: string; expiresAt: number; addrs: string[] }> {
    const addrs = this.shareableAddrs();
    if (addrs.length === 0) {
      throw new UserError('this node has no address another site could dial: start it with --listen (and --relay to use a family relay)', EXIT.NETWORK);
    }
    const { code, expiresAt } = this.pairing.createInvite({ ...req, addrs });
    this.pushRoster(); // relay-capable members learn the invite window
    return { code, expiresAt, addrs };
  }

  /** Joins the family of the code's inviter (decode errors are InviteCodeError). */
  async join(codeText: string, opts: JoinOptions): Promise<JoinResult> {
    const code = decodeInviteCode(codeText);
    return this.joinDecoded(code, opts);
  }

  async joinDecoded(code: InviteCode, opts: JoinOptions): Promise<JoinResult> {
    const until = Date.now() + DIAL_TIMEOUT_MS * 3;
    const targets = [code.inviterPeerId, ...relayPeersOf(code.addrs)];
    for (const t of targets) this.admission.allowJoinTarget(t, until);
    try {
      const result = await this.pairing.join(code, opts);
      this.pushRoster();
      void this.maintain();
      return result;
    } finally {
      for (const t of targets) this.admission.clearJoinTarget(t);
    }
  }

  /** Measures goodput to a connected (or dialable) family member. */
  async speedtest(peerId: string, opts: { durationMs: number; streams: number }): Promise<SpeedtestResult> {
    return this.speedtester.run(peerId, opts);
  }

  /** Revokes a peer: stored as revoked (refused from now on) and its connections dropped. */
  revoke(peerId: string): void {
    revokePeer(this.db, peerId);
    this.hangUp(peerId);
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.probation.stop();
    await Promise.all(this.services.map((s) => s.stop().catch((err) => log.debug(`stopping ${s.protocol}: ${(err as Error).message}`))));
    await this.host.stop();
    this.db.close();
  }
}

/** Peer ids of the relays in circuit addresses (/.../p2p/<relay>/p2p-circuit). */
function relayPeersOf(addrs: Multiaddr[]): string[] {
  const out: string[] = [];
  for (const a of addrs) {
    const m = /\/p2p\/([^/]+)\/p2p-circuit/.exec(a.toString());
    if (m) out.push(m[1]!);
  }
  return out;
}
