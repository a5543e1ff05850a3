import path from 'node:path';
import { PeerStoreError } from './errors.js';

/**
 * Where the peer store keeps things under its folder (`<data>/hosted/`):
 *
 *   <owner site id>/<sha256 hex[0..2]>/<sha256 hex>   a verified, durable chunk
 *   .tmp/<random>                                     a put in progress (removed on failure and at open)
 *   .quarantine/<owner site id>/<sha256 hex>.<ms>     a chunk found not to match its hash
 *
 * Owner ids and hashes come from the network, so they are checked to be plain names before they
 * become path components; a site id (base58 or base32 text) never contains a dot, so the dot
 * folders cannot collide with an owner's folder.
 */
export const TMP_DIR = '.tmp';
export const QUARANTINE_DIR = '.quarantine';

const OWNER = /^[A-Za-z0-9]{1,128}$/;
const SHA256_HEX = /^[0-9a-f]{64}$/;

export function checkOwner(owner: string): string {
  if (!OWNER.test(owner)) throw new PeerStoreError('invalid', `not a site id: ${JSON.stringify(owner.slice(0, 140))}`);
  return owner;
}

/** The lower-case hex of a 32-byte SHA-256 given as hex or bytes. */
export function shaHex(sha: string | Uint8Array): string {
  const hex = typeof sha === 'string' ? sha.toLowerCase() : Buffer.from(sha).toString('hex');
  if (!SHA256_HEX.test(hex)) throw new PeerStoreError('invalid', `not a SHA-256: ${JSON.stringify(hex.slice(0, 80))}`);
  return hex;
}

export function ownerDir(root: string, owner: string): string {
  return path.join(root, checkOwner(owner));
}

export function chunkPath(root: string, owner: string, hex: string): string {
  return path.join(ownerDir(root, owner), hex.slice(0, 2), hex);
}

export function quarantinePath(root: string, owner: string, hex: string, at: number): string {
  return path.join(root, QUARANTINE_DIR, checkOwner(owner), `${hex}.${at}`);
}
