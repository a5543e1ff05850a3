import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { Db } from '../../storage/catalog/db.js';
import { loadSiteKeys } from '../../storage/objects/catalog.js';
import { chunkKey } from '../../storage/naming/object-keys.js';
import { FileTier } from '../../storage/tiers/file.js';
import { loadPolicy, type ReplicationPolicy } from '../../storage/replication/policy.js';
import { plan, summarize, type Candidate, type PlacementSummary, type Plan } from '../../storage/replication/planner.js';
import {
  candidates,
  droppable,
  ownHousehold,
  ownObjects,
  peerPlacements,
  recordPeerPlacement,
  retirePeerPlacement,
} from '../../storage/replication/catalog.js';
import { ChunkRefused, type ChunkService } from '../../protocol/chunk/index.js';
import { releaseNow } from '../heap.js';

/**
 * The replicator (issue 15, point 3; docs/replication.md "Chunk replication"): runs the placement
 * plan of this site's own objects. Each round (node maintenance, `sync`):
 *
 * 1. placements at revoked households are retired (logged gone), so the plan places them again;
 * 2. staging objects now in an archived volume are dropped at their holders (chunk `drop`);
 * 3. an audit asks holders (`has`) for every chunk of placements not audited for a while and
 *    re-puts what is missing;
 * 4. the plan's new holders get every chunk (streamed from the local object tier; a chunk the
 *    holder has already is acknowledged without a byte sent, so a killed transfer resumes), and a
 *    holder that acknowledged all of an object's chunks is recorded with its log entry, in one
 *    transaction.
 *
 * A holder that refuses (quota, disk full, busy) or cannot be reached is left out for a while
 * (backoff) and the plan picks another.
 */

export interface ReplicatorDeps {
  db: Db;
  chunks: ChunkService;
  connected(peerId: string): boolean;
  log: { info(m: string): void; warn(m: string): void; debug(m: string): void };
  /** How often a placement is audited with `has` (default AUDIT_MS). */
  auditMs?: number;
  /** The node is stopping: no new transfer starts, nothing more is recorded. */
  stopped?(): boolean;
  /** Attaches this site's log writer once the log exists (`init` may run while the node does). */
  openLog?(): Promise<void>;
}

/** What `sync` and `status` say of this site's placement goal, with what this node sent so far. */
export interface ReplicationReport extends PlacementSummary {
  /** When a connected household that failed or refused lately may be tried again (null: none waits). */
  retryAt: number | null;
  /**
   * Since the node started: chunks a holder stored, chunks it had already (acknowledged before a
   * byte moved), bytes read from the object tier and streamed to holders, staging objects dropped.
   */
  sent: { chunks: number; alreadyHeld: number; bytes: number; dropped: number };
  /**
   * Households that refused a chunk lately, with the reason they gave (`quota`, `disk-full`,
   * `busy`, ...) and when they are tried again: the objects went elsewhere meanwhile.
   */
  refused: { household: string; reason: string; retryAt: number }[];
}

/** `refused` for people: "12D3KooW… (disk-full), 12D3KooW… (quota)". */
export function describeRefusals(refused: ReplicationReport['refused']): string {
  return refused.map((r) => `${r.household} (${r.reason})`).join(', ');
}

/** Chunks of one object sent to one holder at a time (the protocol allows 4 streams per connection). */
export const CHUNKS_AT_ONCE = 3;
/** Holders served at once. */
const HOLDERS_AT_ONCE = 4;
export const AUDIT_MS = 6 * 3600_000;
const BUSY_RETRIES = 5;
const STREAM_RETRIES = 4;
const STREAM_RETRY_MS = 250;
const BUSY_WAIT_MS = 500;
const OFFLINE_BACKOFF_MS = 5_000;
const REFUSED_BACKOFF_MS = 30_000;
const MAX_BACKOFF_MS = 10 * 60_000;
/** An object whose own copy could not be read is tried again after this long. */
const UNREADABLE_WAIT_MS = 10 * 60_000;
/** Plan passes per round: a refused holder is replaced in the same round. */
const PASSES = 3;

class HolderFailed extends Error {
  constructor(
    readonly why: 'refused' | 'offline',
    message: string,
    /** The holder's refusal reason (ChunkRefused), for the report. */
    readonly reason?: string,
  ) {
    super(message);
  }
}

export class Replicator {
  private current: Promise<ReplicationReport> | null = null;
  private readonly backoff = new Map<string, { until: number; attempts: number; why: 'refused' | 'offline'; reason?: string }>();
  private readonly audited = new Map<number, number>();
  private readonly sent = { chunks: 0, alreadyHeld: 0, bytes: 0, dropped: 0 };
  /** Objects whose own copy could not be read from the object tier, until when they are not tried. */
  private readonly unreadable = new Map<number, number>();

  constructor(private readonly d: ReplicatorDeps) {}

  /** One round; a round already running is joined, not doubled. */
  round(): Promise<ReplicationReport> {
    this.current ??= this.runRound().finally(() => (this.current = null));
    return this.current;
  }

  /** A household connected: a backoff for being unreachable ends (a refusal's does not). */
  connectedTo(household: string): void {
    if (this.backoff.get(household)?.why === 'offline') this.backoff.delete(household);
  }

  /** The goal as it stands, from the catalog (no transfer). */
  report(): ReplicationReport {
    const policy = loadPolicy(this.d.db);
    return this.toReport(this.plan(policy), policy);
  }

  private plan(policy: ReplicationPolicy): Plan {
    const now = Date.now();
    for (const [h, b] of this.backoff) if (b.until <= now) this.backoff.delete(h);
    const family = candidates(this.d.db, (id) => this.d.connected(id));
    // Only connected households can take a copy now (maintenance dials the others); those that
    // refused or failed lately wait for their backoff.
    const avoid = new Map<string, 'refused' | 'offline'>(family.filter((c) => !c.connected).map((c) => [c.household, 'offline']));
    for (const [h, b] of this.backoff) avoid.set(h, b.why);
    const p = plan({ objects: ownObjects(this.d.db), candidates: family, policy, now, avoid });
    // An object this site cannot read now is not sent anywhere (it waits, and is named).
    for (const [row, until] of this.unreadable) if (until <= now) this.unreadable.delete(row);
    for (const o of p.objects) {
      if (!this.unreadable.has(o.row) || o.add.length === 0) continue;
      o.short += o.add.length;
      o.add = [];
    }
    return p;
  }

  private toReport(p: Plan, policy: ReplicationPolicy): ReplicationReport {
    const family = candidates(this.d.db, (id) => this.d.connected(id));
    const waiting = family.filter((c) => c.connected && this.backoff.has(c.household)).map((c) => this.backoff.get(c.household)!.until);
    const summary = summarize(p, policy);
    const unreadable = p.objects.filter((o) => o.short > 0 && this.unreadable.has(o.row)).length;
    if (unreadable > 0) summary.reason = `${summary.reason ?? ''}; this site cannot read its own copy of ${unreadable} object(s) (see the node's log)`.replace(/^; /, '');
    const refused = [...this.backoff]
      .filter(([, b]) => b.why === 'refused' && b.until > Date.now())
      .map(([household, b]) => ({ household, reason: b.reason ?? 'refused', retryAt: b.until }));
    return { ...summary, retryAt: waiting.length ? Math.min(...waiting) : null, sent: { ...this.sent }, refused };
  }

  private async runRound(): Promise<ReplicationReport> {
    const db = this.d.db;
    const owner = ownHousehold(db);
    const policy = loadPolicy(db);
    if (owner === null) return this.toReport(this.plan(policy), policy);
    await this.d.openLog?.();
    const family = new Map(candidates(db, (id) => this.d.connected(id)).map((c) => [c.household, c]));
    this.retireRevoked(family);
    await this.dropArchived(owner, family);
    await this.audit(owner, family);
    let p = this.plan(policy);
    for (let pass = 0; pass < PASSES; pass++) {
      const byHolder = new Map<string, number[]>();
      for (const o of p.objects) for (const h of o.add) byHolder.set(h, [...(byHolder.get(h) ?? []), o.row]);
      if (byHolder.size === 0) break;
      const fam = new Map(candidates(db, (id) => this.d.connected(id)).map((c) => [c.household, c]));
      await pool([...byHolder], HOLDERS_AT_ONCE, async ([household, rows]) => {
        const c = fam.get(household)!;
        for (const row of rows) {
          if (this.d.stopped?.()) return;
          try {
            await this.place(owner, row, c);
          } catch (err) {
            if (err instanceof HolderFailed) {
              this.backOff(household, err.why, err.message, err.reason);
              return;
            }
            // This site's own copy is unreadable (LocalChunkError) or the catalog failed: the
            // holder is not to blame; the object waits a while.
            if (err instanceof LocalChunkError) this.unreadable.set(row, Date.now() + UNREADABLE_WAIT_MS);
            this.d.log.warn(`replication: placing object row ${row} at ${household} failed: ${(err as Error).message}`);
          }
        }
      });
      p = this.plan(policy);
    }
    return this.toReport(p, policy);
  }

  /** Sends every chunk of object `row` to the household, then records and logs the placement. */
  private async place(owner: string, row: number, c: Candidate): Promise<void> {
    if (!this.d.connected(c.peerId)) throw new HolderFailed('offline', `${c.household} is not connected`);
    const o = this.object(row);
    if (!o) return;
    try {
      await pool(o.chunks, CHUNKS_AT_ONCE, (ch) => this.sendChunk(owner, c, row, o.idHex, ch));
    } catch (err) {
      // Refused for good (quota, disk full, a chunk it keeps rejecting): the object goes
      // elsewhere, so the chunks this household took would only hold its disk and our quota.
      // Not after `busy` (it passes) nor when it went away (they are what a resume re-uses).
      if (err instanceof HolderFailed && err.why === 'refused' && err.reason !== 'busy') await this.dropPartial(owner, c, o);
      throw err;
    }
    if (this.d.stopped?.()) return;
    recordPeerPlacement(this.d.db, row, c.household);
    this.d.log.info(`replication: ${o.kind} object ${o.idHex} (${o.chunks.length} chunk(s)) is held by ${c.household}`);
  }

  /**
   * Puts one chunk of object `row` at the household, read from this site's object tier; if this
   * site's own copy cannot be read (a recovered household has none, a damaged disk), from a good
   * copy at another household that holds the object.
   */
  private async sendChunk(owner: string, c: Candidate, row: number, idHex: string, ch: Chunk): Promise<void> {
    try {
      const tier = this.objectTier();
      const key = chunkKey(idHex, ch.index);
      // Opened only when the holder says go: a chunk it has already costs no read at all.
      await this.putChunk(owner, c, idHex, ch, () => lazy(() => tier.get(key), `reading chunk ${ch.index} of ${idHex} from ${tier.url}`, (n) => (this.sent.bytes += n)));
    } catch (err) {
      if (!(err instanceof LocalChunkError)) throw err;
      const copy = await this.copyFromHolder(owner, row, c.household, idHex, ch);
      if (!copy) throw err;
      try {
        await this.putChunk(owner, c, idHex, ch, () => once(copy.bytes, (n) => (this.sent.bytes += n)));
      } finally {
        releaseNow(copy.bytes); // 8 MiB that would wait for a full collection (node/heap.ts)
      }
      this.d.log.info(`replication: chunk ${ch.index} of ${idHex} sent to ${c.household} from the copy at ${copy.from} (${err.message})`);
    }
  }

  /** A good copy of a chunk from another connected household that holds object `row` (checked against its hash), or null. */
  private async copyFromHolder(owner: string, row: number, target: string, idHex: string, ch: Chunk): Promise<{ bytes: Buffer; from: string } | null> {
    const family = new Map(candidates(this.d.db, (id) => this.d.connected(id)).map((x) => [x.household, x]));
    for (const p of peerPlacements(this.d.db)) {
      const h = family.get(p.household);
      if (p.objectRow !== row || p.household === target || !h || h.state !== 'trusted' || !this.d.connected(h.peerId)) continue;
      try {
        const bytes = await this.d.chunks.get(h.peerId, owner, ch.sha);
        if (bytes.length === ch.size && createHash('sha256').update(bytes).digest('hex') === ch.sha) return { bytes, from: p.household };
        this.d.log.warn(`replication: the copy of chunk ${ch.index} of ${idHex} at ${p.household} does not match its hash`);
      } catch (err) {
        this.d.log.debug(`replication: chunk ${ch.index} of ${idHex} from ${p.household} failed: ${(err as Error).message}`);
      }
    }
    return null;
  }

  /** One put with its retries (busy, a re-send after a mismatch, a failed stream); `source` opens the bytes anew each try. */
  private async putChunk(owner: string, c: Candidate, idHex: string, ch: Chunk, source: () => AsyncIterable<Uint8Array>): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        const { stored } = await this.d.chunks.put(c.peerId, owner, ch.sha, ch.size, source());
        if (stored) this.sent.chunks++;
        else this.sent.alreadyHeld++;
        this.d.log.debug(`replication: chunk ${ch.index} of ${idHex} to ${c.household}: ${stored ? 'stored' : 'already held'}`);
        return;
      } catch (err) {
        if (err instanceof LocalChunkError) throw err;
        if (err instanceof ChunkRefused) {
          if (err.reason === 'busy' && attempt < BUSY_RETRIES) {
            await sleep(BUSY_WAIT_MS * attempt);
            continue;
          }
          if ((err.reason === 'hash-mismatch' || err.reason === 'size-mismatch') && attempt < 2) continue;
          throw new HolderFailed('refused', `${c.household} refused chunk ${ch.index} of ${idHex}: ${err.reason} (${err.message})`, err.reason);
        }
        if (!this.d.connected(c.peerId)) throw new HolderFailed('offline', `${c.household} went away: ${(err as Error).message}`);
        // A stream can fail without the holder refusing anything (a connection being replaced,
        // a reset): a few tries before the holder is backed off.
        if (attempt < STREAM_RETRIES) {
          await sleep(STREAM_RETRY_MS * attempt);
          continue;
        }
        throw new HolderFailed('offline', `sending chunk ${ch.index} of ${idHex} to ${c.household} failed: ${(err as Error).message}`);
      }
    }
  }

  /** Drops at a household that refused the rest every chunk of an object it is not recorded to hold. */
  private async dropPartial(owner: string, c: Candidate, o: { idHex: string; chunks: { sha: string }[] }): Promise<void> {
    let dropped = 0;
    try {
      for (const ch of o.chunks) if (await this.d.chunks.drop(c.peerId, owner, ch.sha)) dropped++;
    } catch (err) {
      this.d.log.debug(`replication: dropping what ${c.household} took of ${o.idHex} failed: ${(err as Error).message}`);
    }
    if (dropped > 0) this.d.log.info(`replication: ${c.household} refused part of ${o.idHex}: the ${dropped} chunk(s) it took are dropped there`);
  }

  private backOff(household: string, why: 'refused' | 'offline', message: string, reason?: string): void {
    const attempts = (this.backoff.get(household)?.attempts ?? 0) + 1;
    const wait = why === 'offline' ? OFFLINE_BACKOFF_MS : Math.min(REFUSED_BACKOFF_MS * 2 ** (attempts - 1), MAX_BACKOFF_MS);
    this.backoff.set(household, { until: Date.now() + wait, attempts, why, reason });
    this.d.log.warn(`replication: ${message}; placing elsewhere, ${household} is tried again in ${Math.round(wait / 1000)} s`);
  }

  /** A revoked household's copies no longer count: retired (logged gone), and the plan re-places them. */
  private retireRevoked(family: Map<string, Candidate>): void {
    for (const p of peerPlacements(this.d.db)) {
      const c = family.get(p.household);
      if (c && c.state !== 'revoked') continue;
      retirePeerPlacement(this.d.db, p.placementId);
      this.d.log.info(`replication: ${p.household} is ${c ? 'revoked' : 'no longer a member'}: its copy of object row ${p.objectRow} is placed elsewhere`);
    }
  }

  /** Staging objects whose files are archived now: dropped at their holders, then retired. */
  private async dropArchived(owner: string, family: Map<string, Candidate>): Promise<void> {
    for (const d of droppable(this.d.db)) {
      const c = family.get(d.household);
      if (!c || !this.d.connected(c.peerId)) continue; // next time it is online
      const o = this.object(d.objectRow);
      if (!o) continue;
      try {
        for (const ch of o.chunks) await this.d.chunks.drop(c.peerId, owner, ch.sha);
      } catch (err) {
        this.d.log.debug(`replication: dropping ${o.idHex} at ${d.household} failed: ${(err as Error).message}`);
        continue;
      }
      retirePeerPlacement(this.d.db, d.placementId);
      this.sent.dropped++;
      this.d.log.info(`replication: staging object ${o.idHex} is archived: dropped at ${d.household}`);
    }
  }

  /**
   * Asks each connected holder whose placement was not audited for auditMs whether it still has
   * every chunk; a missing chunk is put again, and a holder that cannot take it back loses the
   * placement (logged gone), so the plan places the object elsewhere.
   */
  private async audit(owner: string, family: Map<string, Candidate>): Promise<void> {
    const every = this.d.auditMs ?? AUDIT_MS;
    const now = Date.now();
    for (const p of peerPlacements(this.d.db)) {
      const c = family.get(p.household);
      if (!c || c.state !== 'trusted' || !this.d.connected(c.peerId)) continue;
      if (now - (this.audited.get(p.placementId) ?? p.verifiedAt) < every) continue;
      const o = this.object(p.objectRow);
      if (!o) continue;
      try {
        let missing = 0;
        for (const ch of o.chunks) {
          if (await this.d.chunks.has(c.peerId, owner, ch.sha)) continue;
          missing++;
          await this.sendChunk(owner, c, p.objectRow, o.idHex, ch);
        }
        this.audited.set(p.placementId, Date.now());
        if (missing > 0) this.d.log.warn(`replication: ${p.household} had lost ${missing} chunk(s) of ${o.idHex}: sent again`);
        else this.d.log.debug(`replication: audit of ${o.idHex} at ${p.household}: all ${o.chunks.length} chunk(s) present`);
      } catch (err) {
        if (err instanceof HolderFailed && err.why === 'refused') {
          retirePeerPlacement(this.d.db, p.placementId);
          this.backOff(p.household, 'refused', `${err.message}; its copy of ${o.idHex} no longer counts`, err.reason);
        } else this.d.log.debug(`replication: audit of ${o.idHex} at ${p.household} failed: ${(err as Error).message}`);
      }
    }
  }

  private object(row: number): { idHex: string; kind: string; chunks: { index: number; size: number; sha: string }[] } | null {
    const o = this.d.db.prepare('SELECT object_id, kind FROM objects WHERE id = ?').get(row) as { object_id: Buffer; kind: string } | undefined;
    if (!o) return null;
    const chunks = (this.d.db.prepare('SELECT idx, size, sha256 FROM chunks WHERE object_row = ? ORDER BY idx').all(row) as { idx: number; size: number; sha256: Buffer }[]).map(
      (c) => ({ index: c.idx, size: c.size, sha: c.sha256.toString('hex') }),
    );
    return { idHex: o.object_id.toString('hex'), kind: o.kind, chunks };
  }

  private tier: { url: string; tier: FileTier } | null = null;

  /** The local object tier (site_keys.objects_url) the chunks are read from. */
  private objectTier(): FileTier {
    const url = loadSiteKeys(this.d.db)?.objectsUrl;
    // A site without one (a recovered household's new machine) sends from other holders' copies.
    if (!url) throw new LocalChunkError('this site has no object store (run `lomo-peer init`)');
    if (this.tier?.url !== url) this.tier = { url, tier: new FileTier(url) };
    return this.tier.tier;
  }
}

interface Chunk {
  index: number;
  size: number;
  sha: string;
}

/** Bytes already in memory as a chunk source. */
async function* once(bytes: Buffer, onBytes: (n: number) => void): AsyncGenerator<Uint8Array> {
  onBytes(bytes.length);
  yield bytes;
}

/** This site's own copy of a chunk could not be read (missing or unreadable in the object tier). */
class LocalChunkError extends Error {
  override name = 'LocalChunkError';
}

/** An async iterable that opens its stream only when first iterated, and always closes it. */
async function* lazy(open: () => Promise<Readable>, what: string, onBytes: (n: number) => void): AsyncGenerator<Uint8Array> {
  let r: Readable;
  try {
    r = await open();
  } catch (err) {
    throw new LocalChunkError(`${what}: ${(err as Error).message}`);
  }
  try {
    for await (const piece of r) {
      onBytes((piece as Uint8Array).length);
      yield piece as Uint8Array;
      // The chunk protocol has copied it into frames by the time it asks for the next piece: its
      // memory goes now, not at a full collection (node/heap.ts releaseNow).
      releaseNow(piece as Buffer);
    }
  } catch (err) {
    throw new LocalChunkError(`${what}: ${(err as Error).message}`);
  } finally {
    r.destroy();
  }
}

/** Runs `fn` over `items`, at most `limit` at a time; the first failure rejects (after the others end). */
async function pool<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failure: unknown = null;
  const worker = async () => {
    while (next < items.length && failure === null) {
      const item = items[next++]!;
      try {
        await fn(item);
      } catch (err) {
        failure ??= err;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (failure !== null) throw failure;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
