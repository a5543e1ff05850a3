/**
 * Restoring from family members (docs/replication.md, "Restore from peers"): the members the
 * catalog says hold a chunk, as ChunkSources for the restore's chain
 * (storage/objects/chunk-sources.ts), and the two ways to reach them — the running node of this
 * data folder (control operation `chunk-fetch`, which writes the chunk to a temporary file in the
 * data folder) or, when none runs, a short-lived node in this process, as `join` does.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { multiaddr } from '@multiformats/multiaddr';
import { ChunkRefused } from '../../protocol/chunk/index.js';
import type { Db } from '../../storage/catalog/db.js';
import { ChunkError } from '../../storage/objects/chunk-codec.js';
import type { ByteRange, ChunkSource, ChunkSourceList } from '../../storage/objects/chunk-sources.js';
import { holdingsOfChunk, isSiteHolder } from '../../storage/placements/holdings.js';
import { successions } from '../../storage/sitelog/succession.js';
import { getPeer } from '../../storage/trust/peers.js';
import { EXIT, UserError } from '../exit-codes.js';
import { controlRequest, nodeRunning, type ControlRequest } from './control.js';
import type { LomoNode } from './lomo-node.js';

/** A holder's refusal, as it came over the wire (protocol/chunk's reasons). */
export interface Refusal {
  refused: string;
  message: string;
}

/**
 * Chunk `sha` of household `owner` (whole, or `range` of it) from the member `peerId`: its bytes,
 * or the holder's refusal. Throws when the member cannot be asked (unreachable, no node).
 */
export type PeerFetch = (peerId: string, owner: string, sha: string, range?: ByteRange) => Promise<Buffer | Refusal>;

/** Refusals that mean the holder had the chunk and found it damaged (it quarantined it). */
const BAD_COPY = new Set(['corrupt', 'hash-mismatch', 'size-mismatch']);

/**
 * The family members that hold chunk `index` of an object (a whole-object or a chunk holding in
 * the catalog), in the order the holdings were recorded, each dialled as whoever speaks for that
 * household now (a recovered household has a new peer id). This site itself and revoked members
 * are never asked.
 */
export function peerChunkSources(db: Db, selfId: string, fetch: PeerFetch): ChunkSourceList {
  const speaksFor = successions(db);
  return (rec, index) => {
    if (rec.row === undefined || !rec.ownerSite) return [];
    const owner = rec.ownerSite;
    const idHex = rec.objectId.toString('hex');
    const sha = rec.chunks[index]!.sha256.toString('hex');
    const seen = new Set<string>([selfId]);
    const out: ChunkSource[] = [];
    for (const h of holdingsOfChunk(db, rec.row, index)) {
      if (!isSiteHolder(h.holder)) continue;
      const peerId = speaksFor.get(h.holder.site)?.successor ?? h.holder.site;
      if (seen.has(peerId)) continue;
      seen.add(peerId);
      const row = getPeer(db, peerId);
      if (row?.state === 'revoked') continue; // no longer family: not dialled, its copies do not count
      out.push({
        name: `peer ${row?.name ? `${row.name} ` : ''}${peerId}`,
        tier: 'peers',
        ranged: true,
        get: async (_rec, _index, range) => {
          const r = await fetch(peerId, owner, sha, range);
          if (Buffer.isBuffer(r)) return r;
          if (r.refused === 'not-found') return null;
          if (BAD_COPY.has(r.refused)) throw new ChunkError(idHex, index, `the holder found its copy bad (${r.refused}): ${r.message}`);
          throw new Error(`refused (${r.refused}): ${r.message}`);
        },
      });
    }
    return out;
  };
}

/** One fetch through this process's node: dials the member with its known addresses if needed. */
export async function fetchFromPeer(node: LomoNode, peerId: string, owner: string, sha: string, range?: ByteRange): Promise<Buffer | Refusal> {
  const known = getPeer(node.db, peerId)?.addrs ?? [];
  await node.dialPeer(peerId, known.flatMap((a) => {
    try {
      return [multiaddr(a)];
    } catch {
      return [];
    }
  }));
  try {
    return await node.chunks.get(peerId, owner, sha, range);
  } catch (e) {
    if (e instanceof ChunkRefused) return { refused: e.reason, message: e.message };
    throw e;
  }
}

/** Where `chunk-fetch` writes the chunks it fetched for a restore (the restore removes each after reading it). */
export const FETCH_DIR = 'chunk-fetch';

const SHA_HEX = /^[0-9a-f]{64}$/;

export type ChunkFetchReply = { file: string; size: number } | Refusal | { unreachable: string };

/**
 * The control operation `chunk-fetch` {peerId, owner, sha, offset?, length?}: the running node
 * fetches the chunk and writes it to a new file (mode 0600) under `<data>/chunk-fetch/`, whose
 * name it answers; the caller reads and removes it (files left by a killed restore are removed an
 * hour later, by the next fetch). A refusal or an unreachable member is an
 * answer, not an error.
 */
export async function chunkFetchOp(node: LomoNode, req: ControlRequest): Promise<ChunkFetchReply> {
  const text = (k: string) => {
    const v = req[k];
    if (typeof v !== 'string' || v.length === 0 || v.length > 128) throw new UserError(`chunk-fetch needs ${k}`, EXIT.USAGE);
    return v;
  };
  const peerId = text('peerId');
  const owner = text('owner');
  const sha = text('sha');
  if (!SHA_HEX.test(sha)) throw new UserError('chunk-fetch: sha must be 64 lower-case hex digits', EXIT.USAGE);
  let range: ByteRange | undefined;
  if (req.offset !== undefined || req.length !== undefined) {
    const { offset, length } = req;
    if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || (offset as number) < 0 || (length as number) < 0) {
      throw new UserError('chunk-fetch: offset and length must be whole numbers', EXIT.USAGE);
    }
    range = { offset: offset as number, length: length as number };
  }
  let r: Buffer | Refusal;
  try {
    r = await fetchFromPeer(node, peerId, owner, sha, range);
  } catch (e) {
    return { unreachable: (e as Error)?.message ?? String(e) };
  }
  if (!Buffer.isBuffer(r)) return r;
  const dir = path.join(node.dataDir, FETCH_DIR);
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  sweepStale(dir);
  const file = path.join(dir, `${randomBytes(12).toString('hex')}.chunk`);
  fs.writeFileSync(file, r, { mode: 0o600, flag: 'wx' });
  return { file, size: r.length };
}

/** A file older than this was left by a restore that was killed before it read it. */
const STALE_MS = 60 * 60_000;

function sweepStale(dir: string): void {
  const before = Date.now() - STALE_MS;
  for (const name of fs.readdirSync(dir)) {
    const file = path.join(dir, name);
    try {
      if (fs.statSync(file).mtimeMs < before) fs.rmSync(file, { force: true });
    } catch {
      // gone meanwhile (its restore removed it)
    }
  }
}

/** A fetch through the running node's control socket. */
function controlFetch(dataDir: string): PeerFetch {
  const folder = path.resolve(dataDir, FETCH_DIR);
  return async (peerId, owner, sha, range) => {
    const req: ControlRequest = { op: 'chunk-fetch', peerId, owner, sha, ...(range ? { offset: range.offset, length: range.length } : {}) };
    // A 64 MiB chunk over a slow link: as long as the chunk protocol lets one transfer take.
    const r = await controlRequest<ChunkFetchReply>(dataDir, req, 15 * 60_000);
    if ('unreachable' in r) throw new Error(r.unreachable);
    if ('refused' in r) return r;
    if (path.dirname(path.resolve(r.file)) !== folder) throw new Error(`the node wrote the chunk outside ${folder}`);
    try {
      const bytes = fs.readFileSync(r.file);
      if (bytes.length !== r.size) throw new Error(`the node's chunk file has ${bytes.length} bytes, it said ${r.size}`);
      return bytes;
    } finally {
      fs.rmSync(r.file, { force: true });
    }
  };
}

/**
 * How a restore reaches members: decided at the first fetch (a restore the local folder serves
 * whole never touches the network) — the running node if one answers, else a node started here
 * by `start` (stopped by `close`).
 */
export class PeerLink {
  private chosen: Promise<PeerFetch> | null = null;
  private started: LomoNode | null = null;

  constructor(
    private readonly dataDir: string,
    private readonly start: () => Promise<LomoNode>,
  ) {}

  readonly fetch: PeerFetch = async (...a) => (await this.choose())(...a);

  private choose(): Promise<PeerFetch> {
    this.chosen ??= (async () => {
      if (await nodeRunning(this.dataDir)) return controlFetch(this.dataDir);
      const node = await this.start();
      this.started = node;
      return (peerId, owner, sha, range) => fetchFromPeer(node, peerId, owner, sha, range);
    })();
    return this.chosen;
  }

  async close(): Promise<void> {
    const node = this.started;
    this.started = null;
    if (node) await node.stop();
  }
}
