/**
 * Where a restore reads an object's chunks from: a chain of sources tried in order, free ones first
 * (this site's object folder, then the family members that hold the chunk, then the clouds), each
 * copy checked before it is used. A bad copy is skipped for the next source and reported; the
 * reader (reader.ts) never knows where the bytes came from. Peers are reached by node/ (this layer
 * imports no network code): it implements ChunkSource for them. docs/replication.md, "Restore from
 * peers".
 */
import { createHash } from 'node:crypto';
import type { ByteRange } from '../peerstore/store.js';
import { TierError, type Tier } from '../tiers/tier.js';
import { ChunkError } from './chunk-codec.js';
import { chunkKey } from './format.js';
import type { ObjectRecord } from './writer.js';

export type { ByteRange };

/** The buckets bytes moved are counted in (`bytesFetched` of `restore --json`). */
export type SourceTier = 'local' | 'peers' | 'gdrive' | 's3';

/** The object a chunk belongs to: its record, and (for holders in the catalog) its row and owner. */
export type SourcedObject = ObjectRecord & { row?: number; ownerSite?: string };

export interface ChunkSource {
  /** Names the holder in warnings and errors: `local objects file:///…`, `peer 12D3… (Grandma)`. */
  readonly name: string;
  readonly tier: SourceTier;
  /**
   * True when fetching only part of a chunk saves bytes moved (a family member over the network);
   * such a source is asked for the range a read needs. Others (the local folder) always give whole
   * chunks, which are cheap there and can be checked against the catalog's SHA-256.
   */
  readonly ranged?: boolean;
  /**
   * Chunk `index` of `rec` (whole, or the bytes `range` of it), or null when this source has no
   * copy. Throws when it cannot answer (unreachable, refused); a throw of ChunkError means the
   * holder itself found its copy bad (it is reported as a bad copy), of NotReadableHere that the
   * copy cannot be read from here now (cold storage, no credentials).
   */
  get(rec: SourcedObject, index: number, range?: ByteRange): Promise<Buffer | null>;
}

/** Sources that depend on the chunk: the family members the catalog says hold it. */
export type ChunkSourceList = (rec: SourcedObject, index: number) => ChunkSource[];

/** A copy that failed its check and was skipped. */
export interface BadCopy {
  holder: string;
  object: string;
  chunk: number;
  reason: string;
}

/**
 * Thrown by a source whose copy cannot be read from here now, and that is nobody's fault: a cold
 * Glacier copy (restoring it costs money and hours: `restore aws`), a tier this site has no
 * credentials for. Its message is shown only if no other source has the chunk.
 */
export class NotReadableHere extends Error {
  override name = 'NotReadableHere';
}

/** A chunk no source could give: every source is named with what went wrong there. */
export class ChunkUnavailableError extends ChunkError {
  override name = 'ChunkUnavailableError';
  constructor(
    objectIdHex: string,
    index: number,
    reason: string,
    /** True when some source had a copy that failed its check (corrupt), false when none answered with one. */
    readonly sawBadCopy: boolean,
    /** True when some family member could not answer at all (unreachable, refusing, busy). */
    readonly unreachable: boolean,
  ) {
    super(objectIdHex, index, reason);
  }
}

/** A tier (the local object folder, or any Tier that stores chunks under `<id>/<index>`) as a chunk source. */
export class TierChunkSource implements ChunkSource {
  readonly name: string;
  constructor(
    readonly store: Tier,
    readonly tier: SourceTier = 'local',
    name?: string,
  ) {
    this.name = name ?? (tier === 'local' ? `local objects ${store.url}` : store.url);
  }

  async get(rec: SourcedObject, index: number, range?: ByteRange): Promise<Buffer | null> {
    const key = chunkKey(rec.objectId.toString('hex'), index);
    const parts: Buffer[] = [];
    try {
      const r = range ? { start: range.offset, end: range.offset + range.length - 1 } : undefined;
      for await (const c of await this.store.get(key, r)) parts.push(c as Buffer);
    } catch (e) {
      if (e instanceof TierError && e.kind === 'not-found') return null;
      throw e;
    }
    return Buffer.concat(parts);
  }
}

const SHA_MISMATCH = 'SHA-256 does not match the catalog (tampered, corrupt, swapped or from another object)';

/**
 * Why whole chunk bytes do not match the catalog (size, then SHA-256), or null when they do. This
 * is checked before anything is decrypted, so damage is named "object X chunk N: …".
 */
export function wholeChunkProblem(rec: ObjectRecord, index: number, bytes: Buffer): string | null {
  const c = rec.chunks[index]!;
  if (bytes.length !== c.size) return `has ${bytes.length} bytes, the catalog says ${c.size} (truncated or replaced)`;
  if (!createHash('sha256').update(bytes).digest().equals(c.sha256)) return SHA_MISMATCH;
  return null;
}

/** Chunks kept by a chain (at most 64 MiB each by the chunk protocol's limit; 8 MiB by default). */
const RECENT_CHUNKS = 3;

/** One source's outcome for one chunk, kept for the error when no source has a good copy. */
interface Attempt {
  source: ChunkSource;
  reason: string;
  /** The source had a copy and it failed a check. */
  bad: boolean;
  /** The source could not answer: what it threw (anything but a ChunkError). */
  failed?: unknown;
}

/**
 * The sources of a restore, in order, with what they moved (`bytesFetched`) and the bad copies
 * they had (`badCopies`). `onBadCopy` hears of each bad copy once a good one was found elsewhere
 * (when none is, the error names them all instead).
 */
export class ChunkChain {
  readonly bytesFetched: Record<SourceTier, number> = { local: 0, peers: 0, gdrive: 0, s3: 0 };
  readonly badCopies: BadCopy[] = [];
  /**
   * The last few chunks (or prefixes) read from elsewhere than the local folder that decoded fine,
   * by `<object id>/<index>`: a folder restore reads many small files of one chunk one after the
   * other, and each would otherwise move that chunk again over the network.
   */
  private readonly recent = new Map<string, Buffer>();

  constructor(
    private readonly sources: (ChunkSource | ChunkSourceList)[],
    private readonly onBadCopy: (b: BadCopy) => void = () => {},
  ) {}

  /** The chain of one tier alone (what the readers did before there were peers). */
  static of(tier: Tier): ChunkChain {
    return new ChunkChain([new TierChunkSource(tier)]);
  }

  private sourcesFor(rec: SourcedObject, index: number): ChunkSource[] {
    return this.sources.flatMap((s) => (typeof s === 'function' ? s(rec, index) : [s]));
  }

  /**
   * Reads chunk `index` from the first source whose copy passes the checks, and returns what
   * `decode` makes of it. `range`: the part of the chunk the caller needs, asked of `ranged`
   * sources only (the others give the whole chunk, so `decode` must take either). A whole chunk is
   * checked against the catalog's size and SHA-256 first; a range cannot be (only its length is),
   * so `decode` checks it: decryption authenticates every message and the header naming this
   * object and index. A ChunkError from `decode` also counts as a bad copy.
   */
  async read<T>(rec: SourcedObject, index: number, decode: (bytes: Buffer) => T, wanted?: ByteRange): Promise<T> {
    const idHex = rec.objectId.toString('hex');
    const c = rec.chunks[index];
    if (!c) throw new ChunkError(idHex, index, 'is not in the catalog');
    const key = `${idHex}/${index}`;
    const kept = this.recent.get(key);
    // Kept bytes passed every check when they came; decoding them again checks them again.
    if (kept && (wanted ? kept.length >= wanted.offset + wanted.length : kept.length === c.size)) {
      try {
        return decode(kept);
      } catch (e) {
        if (!(e instanceof ChunkError)) throw e;
        this.recent.delete(key);
      }
    }
    const attempts: Attempt[] = [];
    for (const source of this.sourcesFor(rec, index)) {
      const range = source.ranged ? wanted : undefined;
      let bytes: Buffer | null;
      try {
        bytes = await source.get(rec, index, range);
      } catch (e) {
        if (e instanceof ChunkError) attempts.push({ source, reason: reasonOf(e), bad: true });
        else if (e instanceof NotReadableHere) attempts.push({ source, reason: e.message, bad: false });
        else attempts.push({ source, reason: (e as Error)?.message ?? String(e), bad: false, failed: e ?? new Error('failed') });
        continue;
      }
      if (bytes === null) {
        attempts.push({ source, reason: source instanceof TierChunkSource ? `is missing from ${source.store.url}` : 'has no copy', bad: false });
        continue;
      }
      this.bytesFetched[source.tier] += bytes.length;
      let problem = range ? (bytes.length === range.length ? null : `sent ${bytes.length} bytes for a range of ${range.length}`) : wholeChunkProblem(rec, index, bytes);
      if (problem === null) {
        try {
          const out = decode(bytes);
          this.report(attempts, idHex, index);
          if (source.tier !== 'local') this.keep(key, bytes);
          return out;
        } catch (e) {
          if (!(e instanceof ChunkError)) throw e;
          problem = reasonOf(e);
        }
      }
      attempts.push({ source, reason: problem, bad: true });
    }
    throw unavailable(idHex, index, attempts);
  }

  private keep(key: string, bytes: Buffer): void {
    this.recent.delete(key);
    this.recent.set(key, bytes);
    for (const k of this.recent.keys()) {
      if (this.recent.size <= RECENT_CHUNKS) break;
      this.recent.delete(k);
    }
  }

  /** Bad copies met before the good one: recorded, and told to `onBadCopy`. */
  private report(attempts: Attempt[], object: string, chunk: number): void {
    for (const a of attempts) {
      if (!a.bad) continue;
      const b = { holder: a.source.name, object, chunk, reason: a.reason };
      this.badCopies.push(b);
      this.onBadCopy(b);
    }
  }
}

/** A ChunkError's reason without its "object X chunk N: " prefix. */
function reasonOf(e: ChunkError): string {
  const prefix = `object ${e.objectIdHex} chunk ${e.index}: `;
  return e.message.startsWith(prefix) ? e.message.slice(prefix.length) : e.message;
}

function unavailable(idHex: string, index: number, attempts: Attempt[]): ChunkUnavailableError {
  const bad = attempts.some((a) => a.bad);
  const failed = attempts.some((a) => a.failed !== undefined && a.source.tier === 'peers');
  if (attempts.length === 0) return new ChunkUnavailableError(idHex, index, 'no source to read it from', false, false);
  // One source (a restore from the local folder alone): its own words and errors, as before there were peers.
  if (attempts.length === 1) {
    if (attempts[0]!.failed !== undefined) throw attempts[0]!.failed;
    return new ChunkUnavailableError(idHex, index, attempts[0]!.reason, bad, failed);
  }
  return new ChunkUnavailableError(idHex, index, `no source has a good copy (${attempts.map((a) => `${a.source.name}: ${a.reason}`).join('; ')})`, bad, failed);
}
