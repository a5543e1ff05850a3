import type { Connection, Stream } from '@libp2p/interface';
import { bulkWrites, type Db } from '../../storage/catalog/db.js';
import { SiteLogError } from '../../storage/sitelog/errors.js';
import { entryBytesFrom, entryHash, headsFingerprint, recordPeerHeads } from '../../storage/sitelog/replicas.js';
import { acceptRemote, heads as storedHeads, signerOf } from '../../storage/sitelog/store.js';
import { SignatureThread } from '../../storage/sitelog/signature-thread.js';
import type { SignatureCheck } from '../../storage/sitelog/chain.js';
import { originKeyOf } from '../../storage/sitelog/entry.js';
import { siteIdOfKey } from '../../storage/sitelog/site-id.js';
import { encodeJson, FramedStream, PAUSED_BYTES, ProtocolViolation } from '../framing.js';
import { asError, ProtocolService, type ServiceComponents } from '../service.js';
import {
  ACCEPT_BATCH_BYTES,
  ACCEPT_BATCH_ENTRIES,
  FRAME_TARGET_BYTES,
  LOG_SPEC,
  MAX_CONTROL_FRAME,
  MAX_ENTRIES_PER_STREAM,
  MAX_FRAME_PAYLOAD,
  MAX_ROUNDS,
  MAX_STREAM_MS,
  READ_PAGE_ENTRIES,
  READ_TIMEOUT_MS,
  VERIFY_AHEAD_BATCHES,
  RESYNC_MS,
  RETRY_MS,
  WARN_INTERVAL_MS,
} from './constants.js';
import { decodeLogMessage, splitEntryFrame, encodeHeads, type LogMessage, type WireHead } from './messages.js';

/**
 * Log sync (docs/replication.md). On one stream, each direction carries:
 *
 *   heads          every log the side holds: origin, seq, head hash (the opener first; the
 *                  answerer reads the opener's before it replies with its own)
 *   binary*        the entries the other side lacks, per origin in seq order, whole entries per
 *                  frame; the receiver checks each batch (acceptRemote) before storing it
 *   end            how many entries were sent, and whether the sender stopped at its limit
 *   ack            the side's heads after storing what it received (what --wait waits for)
 *
 * Both directions run at once (each side reads while it writes, so backpressure never deadlocks).
 * Everything is idempotent: a killed sync leaves whole batches stored, and the next one starts
 * from the stored heads. A refused entry resets the stream and names the sending peer; a fork is
 * kept as evidence by the store and only that log is skipped for the rest of the stream.
 */

export interface LogEnv {
  db: Db;
  /**
   * Whose logs this site takes from peers (its trusted peers, the members its logs show, itself).
   * Entries of other logs are dropped unread. The hook for membership entries (issue 14 point 4).
   */
  acceptsOrigin(siteId: string): boolean;
}

/** What one exchange with a peer did (both directions, all rounds). */
export interface SyncResult {
  peerId: string;
  rounds: number;
  /** Entries this side sent, stored as new by the peer or not. */
  sent: number;
  /** Entries received and stored here. */
  received: number;
  /** Entries received that this site already had. */
  duplicates: number;
  /** Entries received of logs this site does not take. */
  ignored: number;
  /** Logs whose fork was found (evidence kept, site flagged). */
  forks: string[];
  ms: number;
}

/** A peer sent entries that failed a check: the sync is refused and the peer named. */
export class LogRefused extends Error {
  override name = 'LogRefused';
  constructor(
    readonly peerId: string,
    override readonly cause: SiteLogError,
  ) {
    super(`refused site log entries from ${peerId}: ${cause.message}`);
  }
}

interface PeerState {
  fingerprint: string | null;
  lastOkAt: number;
  lastFailAt: number;
}

export class LogSync extends ProtocolService {
  /** One exchange at a time per peer, whoever opened it. */
  private readonly running = new Map<string, Promise<SyncResult>>();
  private readonly peers = new Map<string, PeerState>();
  private readonly warned = new Map<string, number>();

  constructor(
    private readonly env: LogEnv,
    components: ServiceComponents,
  ) {
    super(LOG_SPEC, components);
  }

  /** Answerer: one round opened by a family member. */
  protected async handleStream(stream: Stream, connection: Connection): Promise<void> {
    const peer = connection.remotePeer.toString();
    const fp = headsFingerprint(this.env.db);
    const t0 = Date.now();
    const round = this.round(stream, peer, 'answerer');
    // An exchange the peer opened counts as one with it: no need to open another right away.
    const result = round.then((r) => this.total(peer, [r], t0));
    this.running.set(peer, result);
    try {
      await result;
      this.noteOk(peer, fp);
    } catch (err) {
      this.noteFail(peer);
      this.report(peer, err);
      stream.abort(asError(err));
    } finally {
      if (this.running.get(peer) === result) this.running.delete(peer);
    }
  }

  /** Exchanges logs with a peer now (rounds until neither side has more); joins a running exchange. */
  sync(peerId: string): Promise<SyncResult> {
    const have = this.running.get(peerId);
    if (have) return have;
    const p = this.open(peerId).finally(() => {
      if (this.running.get(peerId) === p) this.running.delete(peerId);
    });
    this.running.set(peerId, p);
    return p;
  }

  /**
   * Exchanges with a peer if something may have changed: never exchanged, this site's logs grew
   * since, RESYNC_MS passed, or the last failure is RETRY_MS old. For maintenance and connects.
   */
  syncIfDue(peerId: string, now = Date.now()): Promise<SyncResult> | null {
    if (this.running.has(peerId)) return null;
    const s = this.peers.get(peerId);
    const due =
      !s ||
      (s.lastFailAt > s.lastOkAt ? now - s.lastFailAt >= RETRY_MS : s.fingerprint !== headsFingerprint(this.env.db) || now - s.lastOkAt >= RESYNC_MS);
    return due ? this.sync(peerId) : null;
  }

  private async open(peerId: string): Promise<SyncResult> {
    const t0 = Date.now();
    const fp = headsFingerprint(this.env.db);
    const rounds: RoundResult[] = [];
    try {
      for (let i = 0; i < MAX_ROUNDS; i++) {
        const stream = await this.openStream(peerId);
        try {
          rounds.push(await this.round(stream, peerId, 'opener'));
        } catch (err) {
          stream.abort(asError(err));
          throw err;
        }
        if (!rounds[rounds.length - 1]!.more) break;
      }
    } catch (err) {
      this.noteFail(peerId);
      this.report(peerId, err);
      throw err;
    }
    this.noteOk(peerId, fp);
    return this.total(peerId, rounds, t0);
  }

  private total(peerId: string, rounds: RoundResult[], t0: number): SyncResult {
    const sum = (k: 'sent' | 'received' | 'duplicates' | 'ignored') => rounds.reduce((s, r) => s + r[k], 0);
    return {
      peerId,
      rounds: rounds.length,
      sent: sum('sent'),
      received: sum('received'),
      duplicates: sum('duplicates'),
      ignored: sum('ignored'),
      forks: [...new Set(rounds.flatMap((r) => r.forks))],
      ms: Date.now() - t0,
    };
  }

  private noteOk(peerId: string, fingerprint: string): void {
    this.peers.set(peerId, { fingerprint, lastOkAt: Date.now(), lastFailAt: 0 });
  }

  private noteFail(peerId: string): void {
    const s = this.peers.get(peerId) ?? { fingerprint: null, lastOkAt: 0, lastFailAt: 0 };
    this.peers.set(peerId, { ...s, lastFailAt: Date.now() });
  }

  /** Refusals name the peer; the same refusal from the same peer is logged at most once per WARN_INTERVAL_MS. */
  private report(peerId: string, err: unknown): void {
    const e = asError(err);
    // A broken check or protocol rule is the peer's doing: a warning naming it. Anything else
    // (a timeout, a closed connection) is the network's: information only.
    if (!(e instanceof LogRefused) && !(e instanceof ProtocolViolation)) {
      this.components.log.info(`log sync with ${peerId} failed: ${e.message}`);
      return;
    }
    const key = `${peerId} ${e.message}`;
    const last = this.warned.get(key);
    if (last !== undefined && Date.now() - last < WARN_INTERVAL_MS) return;
    if (this.warned.size > 1000) this.warned.clear();
    this.warned.set(key, Date.now());
    this.components.log.warn(`log sync with ${peerId} reset: ${e.message}`);
  }

  /** One stream: heads both ways, entries both ways at once, acks both ways. */
  private async round(stream: Stream, peerId: string, role: 'opener' | 'answerer'): Promise<RoundResult> {
    const { db } = this.env;
    // Paused between reads: while a batch is verified and stored, the sender waits after one yamux
    // window instead of overflowing the read buffer (framing.ts flowControl).
    const fs = new FramedStream(stream, { maxFrame: MAX_CONTROL_FRAME, maxBinary: MAX_FRAME_PAYLOAD, readTimeoutMs: READ_TIMEOUT_MS, flowControl: true, maxBuffered: PAUSED_BYTES });
    const deadline = AbortSignal.timeout(MAX_STREAM_MS);
    const read = async (what: string): Promise<LogMessage> => {
      const f = await fs.readFrame(deadline);
      if (f === null) throw new ProtocolViolation(`stream ended before ${what}`);
      if (f.type !== 'control') throw new ProtocolViolation(`expected ${what}, got an entry frame`);
      return decodeLogMessage(f.body);
    };
    const expectHeads = async (t: 'heads' | 'ack'): Promise<WireHead[]> => {
      const m = await read(t);
      if (m.t !== t) throw new ProtocolViolation(`expected ${t}, got ${m.t}`);
      return (m as { heads: WireHead[] }).heads;
    };
    const ours = () => storedHeads(db);

    let theirs: WireHead[];
    if (role === 'opener') {
      await fs.write(encodeHeads('heads', ours()), deadline);
      theirs = await expectHeads('heads');
    } else {
      theirs = await expectHeads('heads');
      await fs.write(encodeHeads('heads', ours()), deadline);
    }
    recordPeerHeads(db, peerId, theirs);

    const result: RoundResult = { sent: 0, received: 0, duplicates: 0, ignored: 0, forks: [], more: false };
    const sending = this.send(fs, theirs, deadline).then((r) => {
      result.sent = r.sent;
      return r.more;
    });
    const receiving = this.receive(fs, peerId, deadline, result);
    // If one direction fails, the caller aborts the stream, which ends the other: its rejection
    // is expected then and must not surface as unhandled.
    sending.catch(() => {});
    receiving.catch(() => {});
    const [sentMore, gotMore] = await Promise.all([sending, receiving]);
    result.more = sentMore || gotMore;

    await fs.write(encodeHeads('ack', ours()), deadline);
    recordPeerHeads(db, peerId, await expectHeads('ack'));
    await fs.close();
    return result;
  }

  /** Streams every entry the peer lacks, per origin in order; returns the count and whether it stopped at the limit. */
  private async send(fs: FramedStream, theirs: WireHead[], signal: AbortSignal): Promise<{ sent: number; more: boolean }> {
    const { db } = this.env;
    const peerHas = new Map(theirs.map((h) => [h.origin.toString('hex'), h]));
    let sent = 0;
    let frame: Buffer[] = [];
    let frameBytes = 0;
    const flush = async () => {
      if (!frame.length) return;
      const parts = frame;
      frame = [];
      frameBytes = 0;
      await fs.writeBinary(parts, signal);
    };
    for (const h of storedHeads(db)) {
      const t = peerHas.get(h.origin.toString('hex'));
      let from = t ? t.seq + 1 : 1;
      if (t && t.seq > 0 && t.seq <= h.seq) {
        const mine = entryHash(db, h.origin, t.seq);
        if (mine && !mine.equals(t.hash)) {
          // The peer holds another entry at its head: send ours at that seq too, so it finds the
          // fork and keeps the evidence — unless it already flagged the log.
          if (t.forked) continue;
          from = t.seq;
        }
      }
      for (let seq = from; seq <= h.seq; ) {
        const page = entryBytesFrom(db, h.origin, seq, Math.min(READ_PAGE_ENTRIES, h.seq - seq + 1));
        if (!page.length) break;
        for (const b of page) {
          if (sent >= MAX_ENTRIES_PER_STREAM) {
            await flush();
            await fs.write(encodeEnd(sent, true), signal);
            return { sent, more: true };
          }
          if (frameBytes + b.length > FRAME_TARGET_BYTES) await flush();
          frame.push(b);
          frameBytes += b.length;
          sent++;
        }
        seq += page.length;
      }
    }
    await flush();
    await fs.write(encodeEnd(sent, false), signal);
    return { sent, more: false };
  }

  /**
   * Reads entry frames until `end`, checking and storing them in batches of one origin each
   * (acceptRemote verifies the whole batch before it stores any). Returns the sender's `more`.
   *
   * Pipelined for long logs: once a full batch was cut, a signature thread (signature-thread.ts)
   * checks the signatures of up to VERIFY_AHEAD_BATCHES batches ahead of the one being stored, so
   * on two cores the checks and the writes overlap (and neither waits for the other's hiccups);
   * the catalog checkpoints its WAL less often meanwhile (bulkWrites). Batches wait as raw bytes
   * (views into the frames) and are decoded only when stored, so little lives across reads.
   */
  private async receive(
    fs: FramedStream,
    peerId: string,
    signal: AbortSignal,
    result: RoundResult,
  ): Promise<boolean> {
    const { db } = this.env;
    const decided = new Map<string, boolean>(); // origin site id -> taken?
    const skipped = new Set<string>(); // forked during this stream
    let batch: Buffer[] = [];
    let batchOrigin: Buffer | null = null;
    let batchOriginId = '';
    let batchBytes = 0;
    let total = 0;
    /** Started at the first full batch, ended with the stream. */
    const long: { thread: SignatureThread | null; endBulk: (() => void) | null } = { thread: null, endBulk: null };
    /** Batches cut and not stored yet, oldest first: with a thread, up to VERIFY_AHEAD_BATCHES wait. */
    const waiting: Job[] = [];

    const store = async (job: Job) => {
      if (skipped.has(job.originId)) {
        result.ignored += job.entries.length;
        return;
      }
      const checkSignature = job.check ? await job.check : undefined;
      try {
        const r = acceptRemote(db, job.entries, { from: peerId, checkSignature });
        result.received += r.accepted.length;
        result.duplicates += r.duplicates;
      } catch (err) {
        if (!(err instanceof SiteLogError)) throw err;
        if (err.code !== 'fork') throw new LogRefused(peerId, err);
        // Evidence is stored and the site flagged (store.ts); this log is skipped, the rest goes on.
        skipped.add(job.originId);
        result.forks.push(job.originId);
        this.components.log.warn(`site log of ${job.originId} has a fork (two different entries ${err.seq}; evidence kept, the site is flagged), found in entries from ${peerId}`);
      }
    };
    /**
     * Cuts the current batch: hands it to the thread (its signatures are checked against the key
     * the stored head names), then stores the oldest batches while more than VERIFY_AHEAD_BATCHES
     * wait (without a thread: at once).
     */
    const cut = async (full: boolean) => {
      if (!batch.length) return;
      // A full batch means a long log: worth a thread (short syncs never start one).
      if (full && !long.thread) {
        long.thread = new SignatureThread();
        long.endBulk = bulkWrites(db);
      }
      const check = long.thread ? long.thread.check(batch, signerOf(db, batchOrigin!)) : null;
      waiting.push({ entries: batch, originId: batchOriginId, check });
      batch = [];
      batchBytes = 0;
      while (waiting.length > (long.thread ? VERIFY_AHEAD_BATCHES : 0)) await store(waiting.shift()!);
    };

    try {
      for (;;) {
        const f = await fs.readFrame(signal);
        if (f === null) throw new ProtocolViolation('stream ended before end');
        if (f.type === 'binary-parts') throw new ProtocolViolation('unexpected frame'); // not asked for: log streams join payloads
        if (f.type === 'control') {
          const m = decodeLogMessage(f.body);
          if (m.t !== 'end') throw new ProtocolViolation(`expected entries or end, got ${m.t}`);
          if (m.entries !== total) throw new ProtocolViolation(`end says ${m.entries} entries, ${total} arrived`);
          await cut(false);
          while (waiting.length) await store(waiting.shift()!);
          return m.more;
        }
        let entries: Buffer[];
        try {
          entries = splitEntryFrame(f.payload);
        } catch (err) {
          if (err instanceof SiteLogError) throw new LogRefused(peerId, err);
          throw err;
        }
        total += entries.length;
        if (total > MAX_ENTRIES_PER_STREAM) throw new ProtocolViolation(`more than ${MAX_ENTRIES_PER_STREAM} entries in one stream`);
        let origin: Buffer | null = null;
        let originId = '';
        for (const e of entries) {
          const o = originKeyOf(e);
          if (!origin || !o.equals(origin)) {
            origin = o;
            originId = siteIdOfKey(o);
          }
          let take = decided.get(originId);
          if (take === undefined) decided.set(originId, (take = this.env.acceptsOrigin(originId)));
          if (!take || skipped.has(originId)) {
            result.ignored++;
            continue;
          }
          if (batch.length && batchOriginId !== originId) await cut(false);
          else if (batch.length >= ACCEPT_BATCH_ENTRIES || batchBytes >= ACCEPT_BATCH_BYTES) await cut(true);
          if (skipped.has(originId)) {
            result.ignored++;
            continue;
          }
          if (!batch.length) {
            batchOrigin = origin;
            batchOriginId = originId;
          }
          batch.push(e);
          batchBytes += e.length;
        }
      }
    } finally {
      // Not awaited: a thread still checking a batch is simply dropped.
      void long.thread?.close();
      long.endBulk?.();
    }
  }
}

/** A batch of one origin's entries, cut and waiting to be stored; `check` from the signature thread. */
interface Job {
  entries: Buffer[];
  originId: string;
  check: Promise<SignatureCheck> | null;
}

interface RoundResult {
  sent: number;
  received: number;
  duplicates: number;
  ignored: number;
  forks: string[];
  more: boolean;
}

function encodeEnd(entries: number, more: boolean): Uint8Array {
  return encodeJson({ t: 'end', entries, more });
}
