import { SiteLogError } from './errors.js';

/**
 * Site ids <-> raw Ed25519 public keys, without libp2p (storage/ never imports it).
 *
 * A site id is its libp2p peer id as text. For an Ed25519 key that is base58btc of an *identity*
 * multihash of the key's protobuf, so the public key is inside the id:
 *
 *   0x00 (identity) 0x24 (36 bytes) | 0x08 0x01 (KeyType = Ed25519) 0x12 0x20 (Data, 32 bytes) | key
 *
 * which is why a log entry needs only its origin's 32-byte key, and anyone can check that a site id
 * and a signature belong together. test/sitelog/site-id.test.ts compares with @libp2p/peer-id.
 */
const PREFIX = Buffer.from([0x00, 0x24, 0x08, 0x01, 0x12, 0x20]);
const ALPHABET = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz';
const INDEX = new Map([...ALPHABET].map((c, i) => [c, i]));
export const PUBLIC_KEY_BYTES = 32;

function base58(b: Uint8Array): string {
  let n = BigInt('0x' + (Buffer.from(b).toString('hex') || '0'));
  let s = '';
  while (n > 0n) {
    s = ALPHABET[Number(n % 58n)]! + s;
    n /= 58n;
  }
  for (const x of b) {
    if (x !== 0) break;
    s = '1' + s;
  }
  return s;
}

function unbase58(s: string): Buffer | null {
  let n = 0n;
  for (const c of s) {
    const v = INDEX.get(c);
    if (v === undefined) return null;
    n = n * 58n + BigInt(v);
  }
  let hex = n === 0n ? '' : n.toString(16);
  if (hex.length % 2) hex = '0' + hex;
  let zeros = 0;
  while (s[zeros] === '1') zeros++;
  return Buffer.concat([Buffer.alloc(zeros), Buffer.from(hex, 'hex')]);
}

const cache = new Map<string, string>();

/** The site id (libp2p peer id text) of an Ed25519 public key. */
export function siteIdOfKey(publicKey: Uint8Array): string {
  if (publicKey.length !== PUBLIC_KEY_BYTES) throw new SiteLogError('malformed', `an Ed25519 public key has ${PUBLIC_KEY_BYTES} bytes, not ${publicKey.length}`);
  const hex = Buffer.from(publicKey).toString('hex');
  let id = cache.get(hex);
  if (id === undefined) {
    id = base58(Buffer.concat([PREFIX, publicKey]));
    if (cache.size > 10_000) cache.clear();
    cache.set(hex, id);
  }
  return id;
}

/** The Ed25519 public key inside a site id; throws SiteLogError for any other kind of id. */
export function keyOfSiteId(siteId: string): Buffer {
  const b = siteId.length <= 64 ? unbase58(siteId) : null;
  if (!b || b.length !== PREFIX.length + PUBLIC_KEY_BYTES || !b.subarray(0, PREFIX.length).equals(PREFIX)) {
    throw new SiteLogError('malformed', `not an Ed25519 site id: ${JSON.stringify(siteId.slice(0, 80))}`);
  }
  return b.subarray(PREFIX.length);
}
