import { OBJECT_ID_BYTES } from '../crypto/keys.js';
import { SS_ABYTES, SS_HEADERBYTES } from '../crypto/sodium.js';

/**
 * Object format v1 (byte by byte in docs/crypto-format.md).
 *
 * An object's plaintext is cut into slices of `chunkPlain` bytes; slice j becomes chunk j:
 *
 *   chunk j = header_j (64 bytes) || message_0 || ... || message_k
 *
 * header_j carries magic, version, kind, message size, chunk plaintext size, the chunk index, the
 * object id and a fresh secretstream header, and is the additional data of message_0. Each chunk is
 * its own secretstream XChaCha20-Poly1305 stream under the object key: messages hold `messageSize`
 * plaintext bytes (the chunk's last may hold fewer), every message but the chunk's last is
 * TAG_MESSAGE, the last is TAG_PUSH when more chunks follow and TAG_FINAL on the object's last chunk.
 *
 * Why a stream per chunk and not one per object: secretstream cannot seek (each message's MAC
 * feeds the next nonce), so a single stream would make a restore of one file read every chunk
 * before it. With per-chunk streams any plaintext range is decrypted from the chunks that hold it
 * (at most two for a range shorter than a chunk), while the index in the authenticated header and
 * the PUSH/FINAL tags still detect swapped, foreign, truncated and missing chunks.
 */
export const MAGIC = Buffer.from('LOMOOBJ\0', 'latin1');
export const FORMAT_VERSION = 1;
export const HEADER_BYTES = 64;

export const KIND = { volume: 1, file: 2, manifest: 3 } as const;
export type ObjectKind = keyof typeof KIND;

/** 1 MiB: large enough that per-message costs vanish, small enough that a restore decrypts little extra. */
export const DEFAULT_MESSAGE_SIZE = 1024 * 1024;
/**
 * 8 MiB of plaintext per chunk: a valid S3 part (>= 5 MiB), a handy unit for peers and proofs,
 * and small enough that the parallel writer stays far below 200 MB of memory. 10,000 of them hold
 * 83 GB (the 5 GB default volume has 597); larger volumes get larger chunks (chooseChunkPlain).
 */
export const DEFAULT_CHUNK_PLAIN = 8 * 1024 * 1024;
export const MIN_PART_SIZE = 5 * 1024 * 1024;
export const MAX_PARTS = 10_000;
/** Merkle leaves over each chunk's ciphertext, for possession proofs: 64 KiB. */
export const LEAF_SIZE = 64 * 1024;

export interface ChunkHeader {
  version: number;
  kind: ObjectKind;
  messageSize: number;
  chunkPlain: number;
  index: number;
  objectId: Uint8Array;
  streamHeader: Uint8Array;
}

export class FormatError extends Error {
  override name = 'FormatError';
}

export function encodeHeader(h: ChunkHeader): Buffer {
  const b = Buffer.alloc(HEADER_BYTES);
  MAGIC.copy(b, 0);
  b.writeUInt8(h.version, 8);
  b.writeUInt8(KIND[h.kind], 9);
  b.writeUInt16LE(0, 10); // flags: none defined in v1
  b.writeUInt32LE(h.messageSize, 12);
  b.writeUInt32LE(h.chunkPlain, 16);
  b.writeUInt32LE(h.index, 20);
  Buffer.from(h.objectId).copy(b, 24);
  Buffer.from(h.streamHeader).copy(b, 40);
  return b;
}

export function decodeHeader(bytes: Uint8Array): ChunkHeader {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (b.length < HEADER_BYTES || !b.subarray(0, 8).equals(MAGIC)) throw new FormatError('not a lomo-peer object chunk (bad magic)');
  const version = b.readUInt8(8);
  if (version !== FORMAT_VERSION) throw new FormatError(`object format version ${version} is not supported (this program reads ${FORMAT_VERSION})`);
  const kindByte = b.readUInt8(9);
  const kind = (Object.keys(KIND) as ObjectKind[]).find((k) => KIND[k] === kindByte);
  if (!kind) throw new FormatError(`unknown object kind ${kindByte}`);
  const messageSize = b.readUInt32LE(12);
  const chunkPlain = b.readUInt32LE(16);
  if (messageSize < 1 || chunkPlain < messageSize || chunkPlain % messageSize !== 0) {
    throw new FormatError(`bad sizes in chunk header (message ${messageSize}, chunk ${chunkPlain})`);
  }
  return {
    version,
    kind,
    messageSize,
    chunkPlain,
    index: b.readUInt32LE(20),
    objectId: Uint8Array.from(b.subarray(24, 24 + OBJECT_ID_BYTES)),
    streamHeader: Uint8Array.from(b.subarray(40, 40 + SS_HEADERBYTES)),
  };
}

export interface Layout {
  messageSize: number;
  chunkPlain: number;
}

/** Ciphertext bytes of a chunk holding `plain` bytes (an empty object is one empty message). */
export function chunkCipherSize(plain: number, messageSize: number): number {
  return HEADER_BYTES + plain + Math.max(1, Math.ceil(plain / messageSize)) * SS_ABYTES;
}

/**
 * Chunks of an object of `plainSize` bytes: floor(plainSize / chunkPlain) + 1. The last chunk holds
 * the remaining 0..chunkPlain-1 bytes, so a writer can send each chunk as soon as it is full,
 * without knowing the total size (an exact multiple ends with a small, empty final chunk).
 */
export function chunkCount(plainSize: number, chunkPlain: number): number {
  return Math.floor(plainSize / chunkPlain) + 1;
}

/** Plaintext bytes held by chunk `index` of an object of `plainSize` bytes. */
export function chunkPlainSize(index: number, plainSize: number, chunkPlain: number): number {
  return index < chunkCount(plainSize, chunkPlain) - 1 ? chunkPlain : plainSize - index * chunkPlain;
}

export function objectCipherSize(plainSize: number, l: Layout): number {
  const n = chunkCount(plainSize, l.chunkPlain);
  return (n - 1) * chunkCipherSize(l.chunkPlain, l.messageSize) + chunkCipherSize(plainSize - (n - 1) * l.chunkPlain, l.messageSize);
}

/** Chunks holding plaintext bytes [offset, offset + length): at most two when length <= chunkPlain. */
export function chunksFor(offset: number, length: number, chunkPlain: number): { first: number; last: number } {
  const first = Math.floor(offset / chunkPlain);
  const last = length === 0 ? first : Math.floor((offset + length - 1) / chunkPlain);
  return { first, last };
}

/**
 * The chunk plaintext size for an object of at most `maxPlainSize` bytes: 8 MiB (DEFAULT_CHUNK_PLAIN), or more (whole
 * MiB) so that the object stays within 10,000 chunks = S3 multipart parts.
 */
export function chooseChunkPlain(maxPlainSize: number, messageSize = DEFAULT_MESSAGE_SIZE): number {
  const needed = Math.ceil(maxPlainSize / (MAX_PARTS - 2));
  return Math.max(DEFAULT_CHUNK_PLAIN, Math.ceil(needed / messageSize) * messageSize);
}

/** Tier key of chunk `index` of an object, defined once in storage/naming/object-keys.ts. */
export { chunkKey } from '../naming/object-keys.js';
