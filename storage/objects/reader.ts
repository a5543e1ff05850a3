import { createHash } from 'node:crypto';
import type { Writable } from 'node:stream';
import type { SiteKeys } from '../crypto/keys.js';
import type { Sodium } from '../crypto/sodium.js';
import type { Tier } from '../tiers/tier.js';
import { ChunkError, decryptChunk } from './chunk-codec.js';
import { SS_ABYTES } from '../crypto/sodium.js';
import { ChunkChain, type ByteRange } from './chunk-sources.js';
import { HEADER_BYTES, chunkCount, chunkKey, chunksFor, decodeHeader, type ObjectKind } from './format.js';
import type { ObjectRecord } from './writer.js';

export interface ReadContext {
  sodium: Sodium;
  keys: SiteKeys;
  /** The local object tier (listings, and chunks when there is no `chain`). */
  tier: Tier;
  /** Where chunks are read from, in order (chunk-sources.ts); default: `tier` alone. */
  chain?: ChunkChain;
}

const chainOf = (ctx: ReadContext): ChunkChain => ctx.chain ?? ChunkChain.of(ctx.tier);

/** Stored data failed verification; `objectIdHex`/`index` say where. */
export { ChunkError };

async function readAll(tier: Tier, key: string): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of await tier.get(key)) parts.push(c as Buffer);
  return Buffer.concat(parts);
}

/**
 * Fetches chunk `index` from `tier` and checks it against the catalog (size and SHA-256) before
 * anything is decrypted, so every kind of damage is reported as "object X chunk N: ..." .
 */
export function fetchChunk(tier: Tier, rec: ObjectRecord, index: number): Promise<Buffer> {
  return ChunkChain.of(tier).read(rec, index, (bytes) => bytes);
}

/** Plaintext bytes [offset, offset + length) of an object, reading only the chunks that hold them. */
export async function readRange(ctx: ReadContext, rec: ObjectRecord, offset: number, length: number): Promise<Buffer> {
  const out: Buffer[] = [];
  await decryptRange(ctx, rec, offset, length, async (b) => void out.push(b));
  return Buffer.concat(out);
}

/**
 * Streams plaintext bytes [offset, offset + length) to `sink`, one chunk at a time (memory: one
 * chunk), fetching only the chunks that hold the range and verifying each before decrypting it.
 */
export async function decryptRange(
  ctx: ReadContext,
  rec: ObjectRecord,
  offset: number,
  length: number,
  sink: (plain: Buffer) => Promise<void>,
): Promise<void> {
  if (offset < 0 || length < 0 || offset + length > rec.plainSize) {
    throw new RangeError(`range ${offset}+${length} is outside object ${rec.objectId.toString('hex')} (${rec.plainSize} bytes)`);
  }
  if (length === 0) return;
  const { first, last } = chunksFor(offset, length, rec.chunkPlain);
  const n = chunkCount(rec.plainSize, rec.chunkPlain);
  const chain = chainOf(ctx);
  for (let i = first; i <= last; i++) {
    const base = i * rec.chunkPlain;
    const from = Math.max(offset, base) - base;
    const to = Math.min(offset + length, base + rec.chunkPlain) - base;
    const cipherSize = rec.chunks[i]?.size;
    const want = { kind: rec.kind, objectId: rec.objectId, index: i, last: i === n - 1, cipherSize };
    await sink(await chain.read(rec, i, (bytes) => decryptChunk(ctx.sodium, ctx.keys, bytes, want, from, to), prefixFor(rec, i, to)));
  }
}

/**
 * The prefix of chunk `index` that plaintext bytes [0, to) of it need: its header and every message
 * up to the one holding byte `to - 1` (secretstream decrypts a chunk's messages in order from its
 * start, so a range cannot skip the messages before it). Undefined when that is the whole chunk (its
 * last message is needed: the tag that ends the chunk is checked).
 */
function prefixFor(rec: ObjectRecord, index: number, to: number): ByteRange | undefined {
  const c = rec.chunks[index];
  if (!c || to <= 0) return undefined;
  const length = HEADER_BYTES + (Math.floor((to - 1) / rec.messageSize) + 1) * (rec.messageSize + SS_ABYTES);
  return length < c.size ? { offset: 0, length } : undefined;
}

/**
 * Decrypts a whole object into `out`, chunk by chunk (memory: one chunk), verifying each chunk
 * and, at the end, the plaintext SHA-256. Returns the plaintext hash. The caller owns `out` and
 * discards what it wrote if this throws.
 */
export async function decryptObject(ctx: ReadContext, rec: ObjectRecord, out: Writable): Promise<Buffer> {
  const n = chunkCount(rec.plainSize, rec.chunkPlain);
  const idHex = rec.objectId.toString('hex');
  if (rec.chunks.length !== n) throw new ChunkError(idHex, rec.chunks.length, `catalog lists ${rec.chunks.length} chunks, the object needs ${n}`);
  const hash = createHash('sha256');
  const chain = chainOf(ctx);
  for (let i = 0; i < n; i++) {
    const want = { kind: rec.kind, objectId: rec.objectId, index: i, last: i === n - 1 };
    const plain = await chain.read(rec, i, (bytes) => decryptChunk(ctx.sodium, ctx.keys, bytes, want));
    hash.update(plain);
    if (!out.write(plain)) await new Promise<void>((r) => out.once('drain', () => r()));
  }
  const sha = hash.digest();
  if (!sha.equals(rec.plainSha256)) throw new ChunkError(idHex, n - 1, 'decrypted plaintext SHA-256 does not match the catalog');
  return sha;
}

/**
 * Reads an object with no catalog at all (recovery): lists its chunks in the tier and relies on
 * the format alone — chunk index in the authenticated header, PUSH/FINAL tags — to detect
 * missing, swapped or truncated chunks.
 */
export async function readObjectWithoutCatalog(ctx: ReadContext, objectIdHex: string, kind?: ObjectKind): Promise<Buffer> {
  const keys: string[] = [];
  for await (const s of ctx.tier.list(`${objectIdHex}/`)) keys.push(s.key);
  keys.sort();
  if (keys.length === 0) throw new ChunkError(objectIdHex, 0, `is missing from ${ctx.tier.url}`);
  const objectId = Buffer.from(objectIdHex, 'hex');
  const out: Buffer[] = [];
  for (let i = 0; i < keys.length; i++) {
    if (keys[i] !== chunkKey(objectIdHex, i)) throw new ChunkError(objectIdHex, i, `is missing from ${ctx.tier.url}`);
    const bytes = await readAll(ctx.tier, keys[i]!);
    const k = kind ?? safeKind(bytes);
    out.push(decryptChunk(ctx.sodium, ctx.keys, bytes, { kind: k, objectId, index: i, last: i === keys.length - 1 }));
  }
  return Buffer.concat(out);
}

function safeKind(bytes: Buffer): ObjectKind {
  try {
    return decodeHeader(bytes).kind;
  } catch {
    return 'volume'; // decryptChunk reports the bad header with the object and chunk named
  }
}
