import type { SiteKeys } from '../crypto/keys.js';
import { SS_ABYTES, TAG, type Sodium } from '../crypto/sodium.js';
import { FORMAT_VERSION, HEADER_BYTES, chunkCipherSize, decodeHeader, encodeHeader, FormatError, type ObjectKind } from './format.js';

/** Object key domain: manifests are metadata (catalog key), everything else data. */
export const domainOf = (kind: ObjectKind) => (kind === 'manifest' ? 'catalog' : 'objects');

/** A chunk failed to decrypt or verify; the message names the object and the chunk. */
export class ChunkError extends Error {
  override name = 'ChunkError';
  constructor(
    readonly objectIdHex: string,
    readonly index: number,
    reason: string,
  ) {
    super(`object ${objectIdHex} chunk ${index}: ${reason}`);
  }
}

export interface ChunkParams {
  kind: ObjectKind;
  objectId: Uint8Array;
  messageSize: number;
  chunkPlain: number;
}

/**
 * Encrypts one chunk (main-thread path, used for small objects and by the test vectors; the
 * worker pool in encrypt-pool.ts does the same steps with sodium-native directly).
 */
export function encryptChunk(sodium: Sodium, key: Uint8Array, p: ChunkParams, index: number, plain: Uint8Array, last: boolean): Buffer {
  const { state, header: streamHeader } = sodium.pushInit(key);
  const header = encodeHeader({ version: FORMAT_VERSION, kind: p.kind, messageSize: p.messageSize, chunkPlain: p.chunkPlain, index, objectId: p.objectId, streamHeader });
  const out = Buffer.alloc(chunkCipherSize(plain.length, p.messageSize));
  header.copy(out, 0);
  let pos = HEADER_BYTES;
  const n = Math.max(1, Math.ceil(plain.length / p.messageSize));
  for (let m = 0; m < n; m++) {
    const msg = plain.subarray(m * p.messageSize, Math.min((m + 1) * p.messageSize, plain.length));
    const tag = m < n - 1 ? TAG.MESSAGE : last ? TAG.FINAL : TAG.PUSH;
    sodium.push(state, msg, m === 0 ? header : null, tag, out.subarray(pos));
    pos += msg.length + SS_ABYTES;
  }
  return out;
}

export interface ExpectChunk {
  kind: ObjectKind;
  objectId: Uint8Array;
  index: number;
  /** True if this must be the object's last chunk (FINAL), false if more follow (PUSH). */
  last: boolean;
  /**
   * The whole chunk's size as the catalog records it, when `bytes` may be only a prefix of it (a
   * byte-range fetch: the header and the messages up to the last one the range needs).
   */
  cipherSize?: number;
}

/**
 * Decrypts one chunk and returns plaintext bytes [from, to) of it (default: all), checking that it
 * belongs to the expected object at the expected index and ends with the right tag. Messages after
 * `to` are not decrypted unless the chunk's end must be checked (to reaches the chunk's end).
 */
export function decryptChunk(sodium: Sodium, keys: SiteKeys, bytes: Uint8Array, want: ExpectChunk, from = 0, to?: number): Buffer {
  const idHex = Buffer.from(want.objectId).toString('hex');
  const fail = (why: string): never => {
    throw new ChunkError(idHex, want.index, why);
  };
  let h;
  try {
    h = decodeHeader(bytes);
  } catch (err) {
    if (err instanceof FormatError) return fail(err.message);
    throw err;
  }
  if (!Buffer.from(h.objectId).equals(Buffer.from(want.objectId))) {
    fail(`belongs to another object (${Buffer.from(h.objectId).toString('hex')})`);
  }
  if (h.index !== want.index) fail(`holds chunk ${h.index} of this object (chunks swapped or misplaced)`);
  if (h.kind !== want.kind) fail(`is a ${h.kind} object, expected ${want.kind}`);
  const key = keys.objectKey(domainOf(h.kind), h.objectId);
  const state = sodium.pullInit(h.streamHeader, key);
  const header = bytes.subarray(0, HEADER_BYTES);
  const cmsg = h.messageSize + SS_ABYTES;
  const body = (want.cipherSize ?? bytes.length) - HEADER_BYTES;
  const n = Math.max(1, Math.ceil(body / cmsg));
  if (Math.ceil((body - n * SS_ABYTES) / h.messageSize) > h.chunkPlain / h.messageSize || body < SS_ABYTES) fail('has an impossible size (truncated or padded)');
  const plainLen = body - n * SS_ABYTES;
  const end = Math.min(to ?? plainLen, plainLen);
  const lastNeeded = end >= plainLen ? n - 1 : Math.floor(Math.max(end - 1, 0) / h.messageSize);
  // A prefix must hold every message up to the last one needed, whole (checked before any pull).
  if (bytes.length < Math.min(HEADER_BYTES + body, HEADER_BYTES + (lastNeeded + 1) * cmsg)) fail(`is shorter (${bytes.length} bytes) than the messages the range needs`);
  const out = Buffer.alloc(Math.max(0, end - from));
  for (let m = 0; m <= lastNeeded; m++) {
    const c = bytes.subarray(HEADER_BYTES + m * cmsg, Math.min(HEADER_BYTES + (m + 1) * cmsg, bytes.length));
    const r = sodium.pull(state, c, m === 0 ? header : null);
    if (!r) fail(`message ${m} does not authenticate (tampered, truncated, or wrong key)`);
    const { message, tag } = r!;
    if (m < n - 1 && tag !== TAG.MESSAGE) fail(`message ${m} ends the chunk early (truncated)`);
    if (m === n - 1) {
      if (tag === TAG.MESSAGE) fail('is truncated (its last message is missing)');
      if (want.last && tag !== TAG.FINAL) fail('is not the last chunk of the object: the chunks after it are missing');
      if (!want.last && tag !== TAG.PUSH) fail('ends the object, but more chunks were expected (chunk list does not match)');
    }
    const mStart = m * h.messageSize;
    const a = Math.max(from, mStart);
    const b = Math.min(end, mStart + message.length);
    if (b > a) Buffer.from(message.buffer, message.byteOffset, message.byteLength).copy(out, a - from, a - mStart, b - mStart);
  }
  return out;
}
