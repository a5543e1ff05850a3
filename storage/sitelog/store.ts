import type { Db } from '../catalog/db.js';
import { encodeBody, type Body } from './body.js';
import { bodyOf } from './decoded.js';
import { stmt } from './stmts.js';
import { emptyLog, isFork, verifyNext, type LogState, type SignatureCheck } from './chain.js';
import { decodeEntry, KIND, type SiteLogEntry } from './entry.js';
import { SiteLogError } from './errors.js';
import { applyEntries, rebuildDerived } from './derive.js';
import { signEntry, verifySignature, type SigningKey } from './sign.js';
import { siteIdOfKey } from './site-id.js';
import { cutoffSql, effectiveCutoff, type Readmission, type Revocation } from './revocation.js';

/**
 * Site logs in the catalog (migration 60). Two ways in:
 * - appendLocal: this site's own entry, signed and stored with the rows it describes in one
 *   transaction, so the site's tables and its log never disagree;
 * - acceptRemote: entries received from a peer, all checked (signature, chain, sequence,
 *   revocation, forks) before any is stored; idempotent, so a sync that was killed resumes.
 */

/** The keys this site signs its log with. */
export interface LocalLogKeys {
  /** The origin of this site's log (its first identity's public key; unchanged by a succession). */
  origin: Buffer;
  /** The key that signs now: the origin's, or the identity a succession entry named. */
  signing: SigningKey;
  /** Needed only to append a succession. */
  recovery?: SigningKey;
}

export interface Head {
  origin: Buffer;
  siteId: string;
  seq: number;
  hash: Buffer;
  forked: boolean;
}

interface EntryRow {
  seq: number;
  hash: Buffer;
  next_signer: Buffer;
  recovery_key: Buffer | null;
}

/** The cut-off in force for a log: its smallest revocation that no re-admission lifted (revocation.ts). */
function cutoff(db: Db, origin: Buffer): number | null {
  return (db.prepare(`SELECT ${cutoffSql('?')}`).pluck().get(origin) as number | null) ?? null;
}

interface StoredRevocation {
  revoker: Buffer;
  revoker_seq: number;
  after_seq: number;
}

function storedRevocations(db: Db, subject: Buffer): StoredRevocation[] {
  return db.prepare('SELECT revoker, revoker_seq, after_seq FROM sitelog_revocations WHERE subject = ?').all(subject) as StoredRevocation[];
}

function storedReadmissions(db: Db, subject: Buffer): Readmission[] {
  return (db.prepare('SELECT covers_after FROM sitelog_readmissions WHERE subject = ?').pluck().all(subject) as number[]).map((c) => ({
    subject: subject.toString('hex'),
    coversAfter: c,
  }));
}


/** The state of a log just after entry `seq` (0: before its first). */
function stateAfter(db: Db, origin: Buffer, seq: number): LogState {
  const s = emptyLog(origin, cutoff(db, origin));
  if (seq === 0) return s;
  const r = stmt(db, 'SELECT seq, hash, next_signer, recovery_key FROM sitelog_entries WHERE origin = ? AND seq = ?').get(origin, seq) as EntryRow | undefined;
  if (!r) throw new Error(`site log of ${s.originId} has no entry ${seq}`);
  return { ...s, seq: r.seq, hash: r.hash, signer: r.next_signer, recoveryKey: r.recovery_key };
}

function headSeq(db: Db, origin: Buffer): number {
  return (stmt(db, 'SELECT seq FROM sitelog_heads WHERE origin = ?').pluck().get(origin) as number | undefined) ?? 0;
}

/** The key that signs the next entry of a log as this catalog holds it (its origin's own until a succession). */
export function signerOf(db: Db, origin: Buffer): Buffer {
  return stateAfter(db, origin, headSeq(db, origin)).signer;
}

export function headOf(db: Db, origin: Buffer): Head | null {
  const r = stmt(db, 'SELECT origin, site_id, seq, hash, forked_at FROM sitelog_heads WHERE origin = ?').get(origin) as
    | { origin: Buffer; site_id: string; seq: number; hash: Buffer; forked_at: number | null }
    | undefined;
  return r ? { origin: r.origin, siteId: r.site_id, seq: r.seq, hash: r.hash, forked: r.forked_at !== null } : null;
}

/** Every log this catalog holds (what the sync protocol offers as heads). */
export function heads(db: Db): Head[] {
  return (stmt(db, 'SELECT origin, site_id, seq, hash, forked_at FROM sitelog_heads ORDER BY site_id').all() as {
    origin: Buffer;
    site_id: string;
    seq: number;
    hash: Buffer;
    forked_at: number | null;
  }[]).map((r) => ({ origin: r.origin, siteId: r.site_id, seq: r.seq, hash: r.hash, forked: r.forked_at !== null }));
}

/** Entries `from`..`to` of a log, in order (bounded by `limit`). */
export function entriesOf(db: Db, origin: Buffer, from = 1, limit = 1000): SiteLogEntry[] {
  return (stmt(db, 'SELECT bytes FROM sitelog_entries WHERE origin = ? AND seq >= ? ORDER BY seq LIMIT ?').pluck().all(origin, from, limit) as Buffer[]).map(decodeEntry);
}

function store(db: Db, e: SiteLogEntry, after: LogState, now: number): void {
  stmt(db, 
    `INSERT INTO sitelog_entries (origin, seq, hash, prev, kind, time, bytes, next_signer, recovery_key, received_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  ).run(e.origin, e.seq, e.hash, e.prev, e.kind, e.time, e.bytes, after.signer, after.recoveryKey, now);
  if (e.kind === KIND.membership) {
    const b = bodyOf(e);
    if (b.kind === 'membership' && b.body.action === 'revoked') {
      db.prepare('INSERT INTO sitelog_revocations (revoker, revoker_seq, subject, after_seq) VALUES (?, ?, ?, ?)').run(e.origin, e.seq, b.body.subject, b.body.revokedAfterSeq);
    } else if (b.kind === 'membership' && b.body.action === 'paired') {
      // A fresh invite of a site this log revoked before: a re-admission (revocation.ts).
      const covers = db
        .prepare('SELECT max(after_seq) FROM sitelog_revocations WHERE revoker = ? AND subject = ? AND revoker_seq < ?')
        .pluck()
        .get(e.origin, b.body.subject, e.seq) as number | null;
      if (covers !== null) {
        db.prepare('INSERT INTO sitelog_readmissions (origin, seq, subject, covers_after) VALUES (?, ?, ?, ?)').run(e.origin, e.seq, b.body.subject, covers);
      }
    }
  }
}

function setHead(db: Db, s: LogState, now: number): void {
  stmt(db, 
    `INSERT INTO sitelog_heads (origin, site_id, seq, hash, updated_at) VALUES (?, ?, ?, ?, ?)
     ON CONFLICT (origin) DO UPDATE SET seq = excluded.seq, hash = excluded.hash, updated_at = excluded.updated_at`,
  ).run(s.origin, s.originId, s.seq, s.hash, now);
}

export interface AppendOptions {
  /** Entry time (default now). */
  time?: number;
  /**
   * Writes the local rows this entry describes (saveObject for an object-sealed entry, say), in
   * the same transaction: if it throws, neither the entry nor the rows remain.
   */
  write?: (entry: SiteLogEntry) => void;
}

/** Appends one entry to this site's log, with its derived rows, atomically; returns it. */
export function appendLocal(db: Db, keys: LocalLogKeys, kind: number, body: Buffer, opts: AppendOptions = {}): SiteLogEntry {
  return db.transaction(() => {
    const state = stateAfter(db, keys.origin, headSeq(db, keys.origin));
    let signer = keys.signing;
    if (kind === KIND.succession) {
      if (!keys.recovery) throw new SiteLogError('rule', 'a succession is signed by the recovery key', state.originId);
      signer = keys.recovery;
    }
    const entry = signEntry({ kind, origin: keys.origin, seq: state.seq + 1, prev: state.hash, time: opts.time ?? Date.now(), body }, signer);
    const after = verifyNext(state, entry); // the same checks a peer will make: a wrong key fails here, not there
    const now = Date.now();
    db.prepare('INSERT OR IGNORE INTO sitelog_local (id, origin) VALUES (1, ?)').run(keys.origin);
    store(db, entry, after, now);
    setHead(db, after, now);
    applyEntries(db, [entry]);
    opts.write?.(entry);
    return entry;
  })();
}

/** appendLocal of a typed body (body.ts). */
export function appendBody(db: Db, keys: LocalLogKeys, b: Exclude<Body, { kind: 'unknown' }>, opts: AppendOptions = {}): SiteLogEntry {
  const { kind, body } = encodeBody(b);
  return appendLocal(db, keys, kind, body, opts);
}

export interface AcceptResult {
  /** Entries stored now, in the order given. */
  accepted: SiteLogEntry[];
  /** Entries this catalog already had (a repeated sync). */
  duplicates: number;
}

export interface AcceptOptions {
  /** The peer the entries came from (named in fork evidence). */
  from?: string;
  /** Signature check (chain.ts SignatureCheck); default verifySignature. */
  checkSignature?: SignatureCheck;
}

/**
 * Checks every entry — decoding, origin, seq + 1, prev hash, signature by the right key,
 * revocation cut-offs (from stored logs and from this batch alike), bodies of known kinds — then
 * stores them all in one transaction and derives what they say. Entries already held are skipped.
 * Any failure throws SiteLogError naming the offending log and stores nothing; a fork (a second
 * validly signed entry for a taken seq) is the exception that is written down — as evidence, with
 * the site flagged — before the batch is refused. Each origin's entries must come in order.
 */
export function acceptRemote(db: Db, input: readonly (Buffer | SiteLogEntry)[], opts: AcceptOptions = {}): AcceptResult {
  const check = opts.checkSignature ?? verifySignature;
  const entries = input.map((x) => (Buffer.isBuffer(x) ? decodeEntry(x) : x));
  const states = new Map<string, LogState>();
  const storedHead = new Map<string, number>();
  const batchEntries = new Map<string, Map<number, { entry: SiteLogEntry; before: LogState }>>();
  const fresh: { entry: SiteLogEntry; after: LogState }[] = [];
  const batch = membershipOfBatch(db, entries);
  const batchCutoff = batch.cut;
  let duplicates = 0;

  for (const e of entries) {
    const key = e.origin.toString('hex');
    let state = states.get(key);
    if (!state) {
      const h = headSeq(db, e.origin);
      storedHead.set(key, h);
      state = stateAfter(db, e.origin, h);
      // Revocations and re-admissions in this batch count, whatever order the logs came in.
      if (batchCutoff.has(key)) state = { ...state, revokedAfter: batchCutoff.get(key)! };
    }
    const held = storedHead.get(key)!;
    if (e.seq <= held) {
      const have = stmt(db, 'SELECT bytes FROM sitelog_entries WHERE origin = ? AND seq = ?').pluck().get(e.origin, e.seq) as Buffer;
      const stored = decodeEntry(have);
      if (stored.hash.equals(e.hash)) {
        duplicates++;
        continue;
      }
      if (isFork(stateAfter(db, e.origin, e.seq - 1), stored, e)) throw forkFound(db, [stored, e], opts.from);
    }
    const inBatch = batchEntries.get(key)?.get(e.seq);
    if (inBatch && !inBatch.entry.hash.equals(e.hash) && isFork(inBatch.before, inBatch.entry, e)) throw forkFound(db, [inBatch.entry, e], opts.from);
    // A counter-revocation (of the site whose revocation cut this log off) counts even after the
    // cut-off: two members revoking each other are both revoked (docs/sitelog-format.md §6).
    const after =
      state.revokedAfter !== null && e.seq > state.revokedAfter && isCounterRevocation(e, batch.revs)
        ? { ...verifyNext({ ...state, revokedAfter: null }, e, check), revokedAfter: state.revokedAfter }
        : verifyNext(state, e, check);
    if (!batchEntries.has(key)) batchEntries.set(key, new Map());
    batchEntries.get(key)!.set(e.seq, { entry: e, before: state });
    states.set(key, after);
    fresh.push({ entry: e, after });
  }
  if (!fresh.length) return { accepted: [], duplicates };
  db.transaction(() => {
    const now = Date.now();
    for (const { entry, after } of fresh) store(db, entry, after, now);
    for (const s of states.values()) setHead(db, s, now);
    // A revocation (or its lifting) changes what counts of the subject's later entries: rebuild.
    if (batchCutoff.size) rebuildDerived(db);
    else applyEntries(db, fresh.map((f) => f.entry));
  })();
  return { accepted: fresh.map((f) => f.entry), duplicates };
}

/**
 * The cut-off in force, once this batch is stored, for every site a revocation or re-admission in
 * the batch names (stored ones counted too). Entries are not verified yet: a forged one fails the
 * batch later anyway, so using it here can only refuse, never let anything in.
 */
function membershipOfBatch(db: Db, entries: readonly SiteLogEntry[]): { cut: Map<string, number | null>; revs: { subject: string; revoker: string }[] } {
  const revs: (Revocation & { revoker: string; seq: number })[] = [];
  const readms: Readmission[] = [];
  const subjects = new Map<string, Buffer>();
  const load = (subject: Buffer) => {
    const hex = subject.toString('hex');
    if (subjects.has(hex)) return;
    subjects.set(hex, subject);
    for (const r of storedRevocations(db, subject)) revs.push({ subject: hex, after: r.after_seq, revoker: r.revoker.toString('hex'), seq: r.revoker_seq });
    readms.push(...storedReadmissions(db, subject));
  };
  for (const e of entries) {
    if (e.kind !== KIND.membership) continue;
    let b;
    try {
      b = bodyOf(e);
    } catch {
      continue; // refused with its reason by verifyNext
    }
    if (b.kind !== 'membership' || b.body.action === 'introduced') continue;
    load(b.body.subject);
    const subject = b.body.subject.toString('hex');
    const origin = e.origin.toString('hex');
    if (b.body.action === 'revoked') revs.push({ subject, after: b.body.revokedAfterSeq, revoker: origin, seq: e.seq });
    else {
      const earlier = revs.filter((r) => r.subject === subject && r.revoker === origin && r.seq < e.seq).map((r) => r.after);
      if (earlier.length) readms.push({ subject, coversAfter: Math.max(...earlier) });
    }
  }
  const cut = new Map<string, number | null>();
  for (const subject of subjects.keys()) cut.set(subject, effectiveCutoff(subject, revs, readms));
  return { cut, revs };
}

/** Is `e` a revocation of a site that revoked e's origin (stored or in the batch)? */
function isCounterRevocation(e: SiteLogEntry, revs: readonly { subject: string; revoker: string }[]): boolean {
  if (e.kind !== KIND.membership) return false;
  const b = bodyOf(e);
  if (b.kind !== 'membership' || b.body.action !== 'revoked') return false;
  const origin = e.origin.toString('hex');
  const subject = b.body.subject.toString('hex');
  return revs.some((r) => r.subject === origin && r.revoker === subject);
}

/** Records both conflicting entries and flags the site; returns the error that refuses the batch. */
function forkFound(db: Db, pair: SiteLogEntry[], from: string | undefined): SiteLogError {
  const e = pair[1]!;
  db.transaction(() => {
    const now = Date.now();
    const ins = stmt(db, 'INSERT OR IGNORE INTO sitelog_forks (origin, seq, hash, bytes, reported_by, detected_at) VALUES (?, ?, ?, ?, ?, ?)');
    for (const x of pair) ins.run(x.origin, x.seq, x.hash, x.bytes, from ?? null, now);
    stmt(db, 'UPDATE sitelog_heads SET forked_at = coalesce(forked_at, ?) WHERE origin = ?').run(now, e.origin);
    stmt(db, 'INSERT OR IGNORE INTO sitelog_heads (origin, site_id, seq, hash, updated_at, forked_at) VALUES (?, ?, 0, ?, ?, ?)').run(
      e.origin, siteIdOfKey(e.origin), Buffer.alloc(32), now, now,
    );
  })();
  return new SiteLogError('fork', `two different entries ${e.seq} (the site signed two histories; kept as evidence)`, e.originId, e.seq);
}

/** Fork evidence held for a site (both entries of each conflict). */
export function forksOf(db: Db, origin: Buffer): SiteLogEntry[] {
  return (stmt(db, 'SELECT bytes FROM sitelog_forks WHERE origin = ? ORDER BY seq, id').pluck().all(origin) as Buffer[]).map(decodeEntry);
}
