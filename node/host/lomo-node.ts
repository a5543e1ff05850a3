import os from 'node:os';
import path from 'node:path';
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
import { RelayUpkeep } from './relay-upkeep.js';
import { tuneHeap } from '../heap.js';
import { createHost, type Host } from './host.js';
import type { ProtocolService, ServiceComponents } from '../../protocol/service.js';
import { decodeInviteCode, pairingService, type InviteCode, type JoinOptions, type JoinResult, type Pairing } from '../../protocol/pairing/index.js';
import { familyService, INVITE_REANNOUNCE_MS, relayWindowUntil, type Family, type MergeResult } from '../../protocol/family/index.js';
import { repairPeerRows } from '../../protocol/family/repair.js';
import { speedtestService, type Speedtest, type SpeedtestResult } from '../../protocol/speedtest/index.js';
import { logService, type LogSync, type SyncResult } from '../../protocol/log/index.js';
import { chunkService, type ChunkService } from '../../protocol/chunk/index.js';
import { PeerStore } from '../../storage/peerstore/store.js';
import { isLogMember } from '../../storage/sitelog/replicas.js';
import { householdOf } from '../../storage/sitelog/succession.js';
import { syncHostedQuotas } from './hosted-quotas.js';
import { HostedScrub } from './hosted-scrub.js';
import { cancelInvite, purgeExpiredSecrets } from '../../storage/trust/invites.js';
import { confirmPeer, getPeer, isTrusted, listPeers, localSiteName, markSeen, revokedPeerIds, setLocalSiteName, type PeerRow } from '../../storage/trust/peers.js';
import { revokeSigned } from '../../storage/trust/members.js';
import { siteLogKeys } from './log-keys.js';
import { MAX_INVITE_MS } from '../../protocol/pairing/index.js';
import { Replicator } from './replicator.js';
import { syncFamily, type SyncReport } from './family-sync.js';

export type { SyncReport } from './family-sync.js';
import { loadSodium } from '../../storage/crypto/sodium.js';
import { attachLocalLog } from '../../storage/sitelog/local-log.js';
import { signingKeyOf } from '../site-log.js';
import { savePolicy, type ReplicationPolicy } from '../../storage/replication/policy.js';

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
  /**
   * `recover --site <id>`: the lost household's log is taken from peers before the logs make it a
   * member here (without it, it is taken once the inviter's log, which admits it, has arrived).
   */
  recovering?: string;
  /** Folder of the chunks this site keeps for other households (default `<dataDir>/hosted`). */
  hostedDir?: string;
  /** How often each hosted chunk is re-hashed by the scrub (default 7 days; storage/peerstore/scrub.ts). */
  scrubEveryMs?: number;
  /**
   * Place this site's objects at other households (the long-running `node`; the short-lived nodes
   * of `join` and `recover` do not). Also attaches the site log writer: placements are logged.
   */
  replicate?: boolean;
  /** How often each peer placement is audited with `has` (default replicator.ts AUDIT_MS). */
  auditMs?: number;
  /** Placement policy to store in the catalog (`node --replicas`, `--holder-stale`); kept otherwise. */
  policy?: Partial<ReplicationPolicy>;
}

export interface InviteRequest {
  expiresMs: number;
  quota: number | null;
  label: string;
}

const DIAL_TIMEOUT_MS = 20_000;
/** What services log (warnings name peers): repeated lines about one peer are throttled. */
const serviceLog = throttledLog(log);
/**
 * A family member this site never connected to is dialled at most after these waits, doubling
 * from the first to the cap (per peer, in memory). Its addresses came from someone else's roster;
 * without the backoff a hostile roster made every maintenance round dial every address it named.
 */
export const FIRST_CONTACT_BACKOFF_MS = 10_000;
export const FIRST_CONTACT_BACKOFF_MAX_MS = 30 * 60_000;

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
  private logs!: LogSync;
  /** `/lomo/chunk/1.0.0`: serves the hosted store, and sends/fetches this site's own chunks. */
  chunks!: ChunkService;
  /** Chunks this site keeps for other households. */
  hosted!: PeerStore;
  /** Re-hashes the hosted chunks in the background, a batch per maintenance round. */
  scrub!: HostedScrub;
  /** Places this site's own objects at other households (null: this node does not replicate). */
  replicator: Replicator | null = null;
  private stopped = false;
  /** Dial attempts to peers never seen: next allowed time and attempts so far. */
  private readonly firstContact = new Map<string, { attempts: number; nextAt: number }>();
  /** Last time this site announced its own open invite (relays keep their window open). */
  private lastInviteAnnounce = 0;
  /** Connections identify was run on again after their peer became a member. */
  private readonly identified = new Set<string>();
  /** Reachability through family relays (relay-upkeep.ts). */
  private readonly relays: RelayUpkeep;

  private constructor(
    readonly db: Db,
    readonly identity: SiteIdentity,
    readonly host: Host,
    readonly admission: Admission,
    private readonly probation: Probation,
    private readonly opts: NodeOptions,
  ) {
    this.relays = new RelayUpkeep({
      host,
      db,
      relayClient: opts.relayClient === true,
      addrs: () => this.addrs(),
      dialTimeoutMs: DIAL_TIMEOUT_MS,
      onUnlimited: (id) => void this.syncRoster(id),
    });
  }

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

  /** The site's data folder (restore's `chunk-fetch` writes its temporary files there). */
  get dataDir(): string {
    return this.opts.dataDir;
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
      onPaired: () => {
        this.syncQuotas();
        this.pushRoster();
      },
      logKeys: () => siteLogKeys(this.db, this.identity),
      dial: (peerId, addrs) => this.dialPeer(peerId, addrs),
      acceptsJoiners: () => this.admission.ownInviteOpen(),
    })(components);
    this.family = familyService({
      db: this.db,
      selfPeerId: this.peerId,
      selfInfo: self,
      onRoster: (from, roster, result) => this.onRoster(from, roster.inviteUntil, result),
    })(components);
    this.speedtester = speedtestService(tuneHeap)(components);
    this.logs = logService({ db: this.db, acceptsOrigin: (id) => this.takesLogOf(id) })(components);
    this.hosted = await PeerStore.open(this.opts.hostedDir ?? path.join(this.opts.dataDir, 'hosted'), this.db);
    this.syncQuotas();
    this.scrub = new HostedScrub(this.hosted, { everyMs: this.opts.scrubEveryMs, log });
    // Bulk transfers run with V8's heap tuned (node/heap.ts): `node` tunes it at start; a process
    // that runs a node in-process (restore from peers) gets it at the first transfer.
    this.chunks = chunkService(this.hosted, (peerId) => householdOf(this.db, peerId), tuneHeap)(components);
    this.services = [this.pairing, this.family, this.speedtester, this.logs, this.chunks];
    await Promise.all(this.services.map((s) => s.start()));
    if (this.opts.replicate) {
      if (this.opts.policy) savePolicy(this.db, this.opts.policy);
      // Placements are logged: each round attaches the log writer (a no-op before `init`, which
      // may run while the node does).
      const signing = signingKeyOf(this.identity.privateKey);
      this.replicator = new Replicator({
        db: this.db,
        chunks: this.chunks,
        connected: (id) => this.connected(id),
        log: serviceLog,
        auditMs: this.opts.auditMs,
        stopped: () => this.stopped,
        openLog: async () => void attachLocalLog(this.db, await loadSodium(), signing),
      });
    }
    // libp2p may still deliver events while (and just after) the node stops: a handler that runs
    // then must not touch the closed catalog, and one that throws must not take the process down.
    const on = <K extends 'connection:open' | 'peer:connect' | 'peer:disconnect' | 'peer:discovery'>(type: K, fn: (detail: any) => void) =>
      h.addEventListener(type, (evt) => {
        if (this.stopped) return;
        try {
          fn((evt as CustomEvent).detail);
        } catch (err) {
          if (!this.stopped) log.warn(`${type} handler failed: ${(err as Error).message}`);
        }
      });
    on('connection:open', (conn: Connection) => this.probation.watch(conn));
    on('peer:connect', (peer: PeerId) => this.onPeerConnect(peer));
    on('peer:disconnect', (peer: PeerId) => {
      const id = peer.toString();
      if (isTrusted(this.db, id)) markSeen(this.db, id, null, null);
    });
    on('peer:discovery', (info: { id: PeerId; multiaddrs: Multiaddr[] }) => {
      const id = info.id.toString();
      const peer = getPeer(this.db, id);
      if (peer?.state === 'trusted' && h.getConnections(info.id).length === 0) {
        // mDNS, or addresses learnt by identify/rosters: either way, a family member to dial.
        log.info(`discovered family member ${id} at ${info.multiaddrs.map(String).join(' ') || '(no address)'}`);
        void this.autoDial(peer, info.multiaddrs);
      }
    });
  }

  /** A member's roster was merged: relay window, then dial the newly trusted, report the rest. */
  private onRoster(from: string, inviteUntil: number | null, result: MergeResult): void {
    // Another member's invite window opens this node to strangers only when it relays for the
    // family, only for the relay hop (pairing here needs an invite of our own), and for at most
    // MAX_RELAY_WINDOW_MS from this roster whatever the roster claims.
    if (this.opts.relayServer) this.admission.setRelayWindow(from, relayWindowUntil(inviteUntil));
    this.syncQuotas();
    for (const m of result.added) {
      log.info(`family member ${from} introduced ${m.name} (${m.peerId})`);
      const row = getPeer(this.db, m.peerId);
      // Already connected (it joined through this node, a relay): no peer:connect will follow,
      // so tell it now that it is family here; that is its cue to ask again what a stranger was
      // refused (relay-client.ts).
      if (row && this.host.getConnections(peerIdFromString(m.peerId)).length > 0) void this.syncRoster(m.peerId);
      else if (row) void this.autoDial(row, []);
    }
    // A roster from a member may mean a relay knows us as family now (see relay-client.ts).
    void this.relays.replaceLimitedConnections();
    void this.relays.reserveOn(from);
    for (const m of result.pending) {
      log.info(`family member ${from} introduced ${m.name} (${m.peerId}): pending until confirmed here (lomo-peer peers confirm ${m.peerId})`);
    }
    if (result.refused.length > 0) {
      const first = result.refused[0]!;
      log.warn(`roster from ${from}: refused ${result.refused.length} introduction(s), e.g. ${first.member.peerId}: ${first.reason}`);
    }
  }

  /**
   * Dials a trusted family member on this node's own initiative (maintenance, discovery, a new
   * introduction). A member seen before is dialled every time; one never seen only as often as
   * its backoff allows. Never throws.
   */
  private async autoDial(peer: PeerRow, addrs: Multiaddr[]): Promise<void> {
    try {
      if (peer.state !== 'trusted') return;
      if (peer.lastSeenAt === null) {
        const now = Date.now();
        const b = this.firstContact.get(peer.peerId);
        if (b && now < b.nextAt) return;
        const attempts = (b?.attempts ?? 0) + 1;
        const wait = Math.min(FIRST_CONTACT_BACKOFF_MS * 2 ** (attempts - 1), FIRST_CONTACT_BACKOFF_MAX_MS);
        this.firstContact.set(peer.peerId, { attempts, nextAt: now + wait });
        log.debug(`first-contact dial of ${peer.peerId} (attempt ${attempts}, next in ${Math.round(wait / 1000)} s at the earliest)`);
      }
      const known = addrs.length > 0 ? addrs : peer.addrs.map((a) => multiaddr(a));
      await this.dialPeer(peer.peerId, known);
    } catch (err) {
      log.debug(`dial ${peer.peerId} failed: ${(err as Error).message}`);
    }
  }

  private onPeerConnect(peer: PeerId): void {
    const id = peer.toString();
    if (!isTrusted(this.db, id)) return;
    const conn = this.host.getConnections(peer)[0];
    markSeen(this.db, id, conn ? conn.remoteAddr.toString() : null, null);
    this.replicator?.connectedTo(householdOf(this.db, id));
    void this.syncRoster(id);
    this.syncLogsIfDue(id);
  }

  /**
   * Whose site logs this node takes from peers: its own, its trusted peers', and those of members
   * the logs themselves admit (membership entries). Anything else a peer offers is dropped.
   */
  private takesLogOf(siteId: string): boolean {
    return siteId === this.peerId || siteId === this.opts.recovering || isTrusted(this.db, siteId) || isLogMember(this.db, siteId);
  }

  /** Exchanges site logs with one member now (`recover` fetches the family's logs from its inviter). */
  exchangeLogs(peerId: string): Promise<SyncResult> {
    return this.logs.sync(peerId);
  }

  /** Exchanges site logs with a connected member if anything changed since the last time (never throws). */
  private syncLogsIfDue(peerId: string): void {
    const p = this.logs.syncIfDue(peerId);
    void p?.then(
      (r) => {
        if (r.received > 0 || r.sent > 0) log.info(`log sync with ${peerId}: sent ${r.sent}, received ${r.received} entries in ${r.ms} ms`);
      },
      () => {}, // the service logged it (a refusal names the peer)
    );
  }

  /** The peer store enforces the quotas agreed at pairing (hosted-quotas.ts). Never throws. */
  private syncQuotas(): void {
    try {
      for (const c of syncHostedQuotas(this.db, this.hosted, (m) => log.warn(m))) {
        log.info(`hosted quota of ${c.owner}: ${c.quotaBytes === null ? 'no limit' : `${c.quotaBytes} bytes`}`);
      }
    } catch (err) {
      if (!this.stopped) log.warn(`applying agreed quotas to the peer store failed: ${(err as Error).message}`);
    }
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

  /**
   * Periodic upkeep: repair unparseable peer rows, cut revoked peers, forget dead secrets,
   * re-announce an open invite, re-dial absent family members. Each step, and each peer within a
   * step, fails on its own: one bad row or peer never stops the rest.
   */
  async maintain(): Promise<void> {
    if (this.stopped) return;
    const step = async (what: string, fn: () => unknown) => {
      try {
        await fn();
      } catch (err) {
        if (!this.stopped) log.warn(`maintenance: ${what} failed: ${(err as Error).message}`);
      }
    };
    await step('repairing peer rows', () => this.repairPeers());
    await step('applying agreed quotas to the peer store', () => this.syncQuotas());
    for (const id of await this.listOr(() => revokedPeerIds(this.db))) await step(`hanging up on revoked ${id}`, () => this.hangUp(id));
    await step('purging expired invite secrets', () => purgeExpiredSecrets(this.db));
    await step('re-announcing the open invite', () => this.reannounceInvite());
    await step('identifying new members', () => this.identifyNewMembers());
    await step('replacing limited relayed connections', () => this.relays.replaceLimitedConnections());
    await step('checking the relay reservation', () => this.relays.kickIfStuck());
    this.scrub.kick(); // in the background: a batch never delays the round
    const peers = await this.listOr(() => listPeers(this.db));
    // Site logs: every connected member whose exchange is due (gossip: logs received from one
    // member grow the heads, which makes an exchange with every other member due).
    for (const p of peers) {
      await step(`exchanging site logs with ${p.peerId}`, () => {
        if (p.state === 'trusted' && this.connected(p.peerId)) this.syncLogsIfDue(p.peerId);
      });
    }
    // Placement runs in the background: a round may take longer than the maintenance interval
    // (round() joins one already running).
    await step('placing this site\'s objects', () => {
      void this.replicator?.round().catch((err) => {
        if (!this.stopped) log.warn(`replication round failed: ${(err as Error).message}`);
      });
    });
    await Promise.all(
      peers.map((p) =>
        step(`redialling ${p.peerId}`, () => {
          if (this.host.getConnections(peerIdFromString(p.peerId)).length > 0) return;
          return this.autoDial(p, []);
        }),
      ),
    );
    log.debug('maintenance round done');
  }

  private async listOr<T>(fn: () => T[]): Promise<T[]> {
    try {
      return fn();
    } catch (err) {
      if (!this.stopped) log.warn(`maintenance: reading the catalog failed: ${(err as Error).message}`);
      return [];
    }
  }

  /** Drops (and reports once) peer rows whose id or addresses cannot be parsed. */
  private repairPeers(): void {
    const r = repairPeerRows(this.db);
    for (const id of r.dropped) log.warn(`removed a peer row whose peer id does not parse: ${JSON.stringify(id.slice(0, 120))}`);
    for (const a of r.addrsDropped) log.warn(`removed ${a.addrs.length} address(es) of ${a.peerId} that do not parse`);
  }

  /** While an invite of ours is open, relays only keep their window for MAX_RELAY_WINDOW_MS: refresh it. */
  private reannounceInvite(): void {
    if (!this.admission.ownInviteOpen()) return;
    if (Date.now() - this.lastInviteAnnounce < INVITE_REANNOUNCE_MS) return;
    this.lastInviteAnnounce = Date.now();
    this.pushRoster();
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
      await this.host.services.identify.identify(conn, { signal: AbortSignal.timeout(DIAL_TIMEOUT_MS) }).catch((err) => {
        // Refused: it does not know us as family yet (we joined through it). Ask again next round.
        this.identified.delete(conn.id);
        log.debug(`identify ${id}: ${err.message}`);
      });
    }
  }

  private hangUp(peerId: string): void {
    let pid: PeerId;
    try {
      pid = peerIdFromString(peerId);
    } catch {
      return; // never connected: an id that does not parse has no connection to close
    }
    for (const c of this.host.getConnections(pid)) {
      void c.close().catch(() => c.abort(new Error('revoked')));
    }
  }

  /** Registers a new single-use invite and returns its code. */
  async invite(req: InviteRequest): Promise<{ code: string; expiresAt: number; addrs: string[]; id: string }> {
    if (!(req.expiresMs > 0 && req.expiresMs <= MAX_INVITE_MS)) throw new UserError('--expires: an invitation lasts at most 7d', EXIT.USAGE);
    const addrs = this.shareableAddrs();
    if (addrs.length === 0) {
      throw new UserError('this node has no address another site could dial: start it with --listen (and --relay to use a family relay)', EXIT.NETWORK);
    }
    const { code, expiresAt, id } = this.pairing.createInvite({ ...req, addrs });
    this.lastInviteAnnounce = Date.now();
    this.pushRoster(); // members learn the invite window (relays, and witnesses of the pairing)
    return { code, expiresAt, addrs, id };
  }

  /** Cancels an open invite and tells the family (relays close their window for it). */
  cancelInvite(id: string): boolean {
    const done = cancelInvite(this.db, id);
    if (done) this.pushRoster();
    return done;
  }

  /** A person confirmed a pending introduced site: it is trusted now, so dial it. */
  confirm(peerId: string): boolean {
    const done = confirmPeer(this.db, peerId);
    this.syncQuotas();
    const row = getPeer(this.db, peerId);
    if (done && row) void this.autoDial(row, []);
    return done;
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
      this.syncQuotas();
      this.pushRoster();
      void this.maintain();
      return result;
    } finally {
      for (const t of targets) this.admission.clearJoinTarget(t);
    }
  }

  private connected(peerId: string): boolean {
    try {
      return this.host.getConnections(peerIdFromString(peerId)).length > 0;
    } catch {
      return false;
    }
  }

  /** `lomo-peer sync` (node/host/family-sync.ts). */
  syncLogs(opts: { wait: boolean; timeoutMs: number }): Promise<SyncReport> {
    return syncFamily({ db: this.db, peerId: this.peerId, logs: this.logs, replicator: this.replicator, connected: (id) => this.connected(id) }, opts);
  }

  /** Measures goodput to a connected (or dialable) family member. */
  async speedtest(peerId: string, opts: { durationMs: number; streams: number }): Promise<SpeedtestResult> {
    return this.speedtester.run(peerId, opts);
  }

  /**
   * Revokes a peer and what it introduced (storage/trust/members.ts revokeSigned): a signed entry
   * in this site's log, stored as revoked (refused from now on) and their connections dropped.
   * Returns every peer id revoked.
   */
  revoke(peerId: string): string[] {
    // A signed revocation in this site's log: every member applies it when it receives the log.
    const revoked = revokeSigned(this.db, siteLogKeys(this.db, this.identity), peerId);
    this.syncQuotas();
    for (const id of revoked) {
      this.hangUp(id);
      this.firstContact.delete(id);
      this.family.witness.forget(id);
    }
    return revoked;
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.probation.stop();
    await this.scrub?.stop();
    await Promise.all(this.services.map((s) => s.stop().catch((err) => log.debug(`stopping ${s.protocol}: ${(err as Error).message}`))));
    await this.host.stop();
    this.db.close();
  }
}

/** What `lomo-peer sync` reports (node/commands/sync.ts). */
/** Peer ids of the relays in circuit addresses (/.../p2p/<relay>/p2p-circuit). */
function relayPeersOf(addrs: Multiaddr[]): string[] {
  const out: string[] = [];
  for (const a of addrs) {
    const m = /\/p2p\/([^/]+)\/p2p-circuit/.exec(a.toString());
    if (m) out.push(m[1]!);
  }
  return out;
}
