import { createHash } from 'node:crypto';
import { ByteReader, ByteWriter } from './bytes.js';
import { SiteLogError } from './errors.js';
import { PUBLIC_KEY_BYTES, siteIdOfKey } from './site-id.js';

export { SiteLogError } from './errors.js';

/**
 * One site log entry, byte by byte (docs/sitelog-format.md §3):
 *
 *   offset size
 *      0    8  magic "LOMOLOG\0"
 *      8    1  format version (1)
 *      9    1  kind
 *     10    2  flags (0)
 *     12   32  origin: the Ed25519 public key of the site whose log this is (its site id)
 *     44    8  seq, from 1
 *     52   32  prev: hash of entry seq-1 (32 zero bytes for seq 1)
 *     84    8  time, ms since the Unix epoch
 *     92    4  body length
 *     96    n  body
 *   96+n   64  Ed25519 signature over "lomo-sitelog-v1\0" || hash
 *
 *   hash = SHA-256(bytes 0 .. 96+n), everything but the signature.
 *
 * A fixed header and one length-prefixed body: one encoding per entry, readable with a page of
 * spec, and the size is known from 96 bytes before the body is buffered.
 */
export const MAGIC = Buffer.from('LOMOLOG\0', 'latin1');
export const FORMAT_VERSION = 1;
export const HEADER_BYTES = 96;
export const SIGNATURE_BYTES = 64;
export const HASH_BYTES = 32;
/** 1 MiB: the largest object (10,000 chunks of 72 public bytes each) is sealed in one entry. */
export const MAX_ENTRY_BYTES = 1024 * 1024;
export const MAX_BODY_BYTES = MAX_ENTRY_BYTES - HEADER_BYTES - SIGNATURE_BYTES;
export const ZERO_HASH = Buffer.alloc(HASH_BYTES);
/** Where the origin key sits in an entry (a reader may route raw entries by it before decoding). */
export const ORIGIN_OFFSET = 12;

/** Kind numbers. 0 is invalid; any other number a reader does not know is kept and passed on. */
export const KIND = {
  siteRecord: 1,
  objectSealed: 2,
  catalogDelta: 3,
  placement: 4,
  membership: 5,
  succession: 6,
} as const;
export type KnownKind = keyof typeof KIND;
const KIND_NAMES = new Map<number, KnownKind>(Object.entries(KIND).map(([k, v]) => [v, k as KnownKind]));

export function kindName(kind: number): KnownKind | `unknown-${number}` {
  return KIND_NAMES.get(kind) ?? `unknown-${kind}`;
}

/** What a site writes; `hash`, `bytes` and the signature are computed from it. */
export interface UnsignedEntry {
  kind: number;
  origin: Buffer;
  seq: number;
  prev: Buffer;
  time: number;
  body: Buffer;
}

export interface SiteLogEntry extends UnsignedEntry {
  version: number;
  signature: Buffer;
  /** SHA-256 of the signed part (the entry's identity, what the next entry's prev holds). */
  hash: Buffer;
  /** The whole encoded entry, exactly as signed and as passed on. */
  bytes: Buffer;
  /** The origin as text (its libp2p peer id). */
  originId: string;
}

/** The signed part: header and body (everything the hash covers). */
export function encodeUnsigned(e: UnsignedEntry): Buffer {
  if (!Number.isInteger(e.kind) || e.kind < 1 || e.kind > 255) throw new SiteLogError('malformed', `kind must be 1..255, not ${e.kind}`);
  if (e.seq < 1) throw new SiteLogError('malformed', `seq starts at 1, not ${e.seq}`);
  if (e.body.length > MAX_BODY_BYTES) throw new SiteLogError('oversized', `body of ${e.body.length} bytes exceeds ${MAX_BODY_BYTES}`);
  if (e.seq === 1 && !e.prev.equals(ZERO_HASH)) throw new SiteLogError('chain', 'entry 1 must have a zero previous hash');
  return new ByteWriter()
    .raw(MAGIC)
    .u8(FORMAT_VERSION)
    .u8(e.kind)
    .u16(0)
    .fixed(e.origin, PUBLIC_KEY_BYTES)
    .u64(e.seq)
    .fixed(e.prev, HASH_BYTES)
    .u64(e.time)
    .u32(e.body.length)
    .raw(e.body)
    .done();
}

export function hashOf(signedPart: Uint8Array): Buffer {
  return createHash('sha256').update(signedPart).digest();
}

/** Assembles an entry from its signed part and the signature made over its hash. */
export function assemble(signedPart: Buffer, signature: Uint8Array): SiteLogEntry {
  if (signature.length !== SIGNATURE_BYTES) throw new SiteLogError('malformed', `a signature has ${SIGNATURE_BYTES} bytes`);
  return decodeEntry(Buffer.concat([signedPart, signature]));
}

/**
 * The body length of an entry from its first 96 bytes, so a reader can refuse an oversized entry
 * before buffering it (the log sync protocol frames entries with this).
 */
export function entryLength(header: Buffer): number {
  if (header.length < HEADER_BYTES) throw new SiteLogError('malformed', `an entry header has ${HEADER_BYTES} bytes`);
  const bodyLen = header.readUInt32LE(92);
  if (bodyLen > MAX_BODY_BYTES) throw new SiteLogError('oversized', `entry body of ${bodyLen} bytes exceeds ${MAX_BODY_BYTES}`);
  return HEADER_BYTES + bodyLen + SIGNATURE_BYTES;
}

/**
 * Strict decoder: the exact length, magic, version 1, flags 0, seq >= 1, a zero prev exactly at
 * seq 1, no trailing bytes. It does not check the signature or the chain (sign.ts, chain.ts).
 */
export function decodeEntry(bytes: Buffer): SiteLogEntry {
  if (bytes.length > MAX_ENTRY_BYTES) throw new SiteLogError('oversized', `entry of ${bytes.length} bytes exceeds ${MAX_ENTRY_BYTES}`);
  if (bytes.length < HEADER_BYTES + SIGNATURE_BYTES) throw new SiteLogError('malformed', `entry truncated: ${bytes.length} bytes`);
  const r = new ByteReader(bytes, 'entry');
  if (!r.fixed(MAGIC.length).equals(MAGIC)) throw new SiteLogError('malformed', 'not a site log entry (bad magic)');
  const version = r.u8();
  if (version !== FORMAT_VERSION) throw new SiteLogError('malformed', `site log format version ${version} is not supported (this program reads ${FORMAT_VERSION})`);
  const kind = r.u8();
  if (kind === 0) throw new SiteLogError('malformed', 'kind 0 is invalid');
  if (r.u16() !== 0) throw new SiteLogError('malformed', 'flags must be 0 in format version 1');
  const origin = r.fixed(PUBLIC_KEY_BYTES);
  const originId = siteIdOfKey(origin);
  const seq = r.u64();
  const prev = r.fixed(HASH_BYTES);
  const time = r.u64();
  const bodyLen = r.u32();
  if (seq < 1) throw new SiteLogError('malformed', 'seq must be at least 1', originId);
  if (seq === 1 && !prev.equals(ZERO_HASH)) throw new SiteLogError('chain', 'entry 1 must have a zero previous hash', originId, 1);
  if (bodyLen !== bytes.length - HEADER_BYTES - SIGNATURE_BYTES) {
    throw new SiteLogError('malformed', `body length ${bodyLen} does not match the entry's ${bytes.length} bytes`, originId, seq);
  }
  const body = r.fixed(bodyLen);
  const signature = r.fixed(SIGNATURE_BYTES);
  r.end();
  const signed = bytes.subarray(0, HEADER_BYTES + bodyLen);
  return { version, kind, origin, seq, prev, time, body, signature, hash: hashOf(signed), bytes, originId };
}

/** The origin key of an encoded entry, read from its header without decoding it (a view, no copy). */
export function originKeyOf(bytes: Buffer): Buffer {
  if (bytes.length < HEADER_BYTES) throw new SiteLogError('malformed', `entry truncated: ${bytes.length} bytes`);
  return bytes.subarray(ORIGIN_OFFSET, ORIGIN_OFFSET + PUBLIC_KEY_BYTES);
}

/** The signed part of a decoded entry (a view, no copy). */
export function signedPartOf(e: SiteLogEntry): Buffer {
  return e.bytes.subarray(0, e.bytes.length - SIGNATURE_BYTES);
}
