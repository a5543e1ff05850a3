import { createRequire } from 'node:module';
import { createPrivateKey, createPublicKey, sign as edSign, verify as edVerify, type KeyObject } from 'node:crypto';
import { assemble, encodeUnsigned, hashOf, type SiteLogEntry, type UnsignedEntry } from './entry.js';
import { SiteLogError } from './errors.js';
import { PUBLIC_KEY_BYTES } from './site-id.js';

/**
 * Ed25519 signatures of site log entries with node:crypto (OpenSSL), on raw 32-byte keys: the
 * site's libp2p identity key (node/identity.ts hands over its raw seed) or the recovery key.
 *
 *   signature = Ed25519(secret, "lomo-sitelog-v1\0" || SHA-256(signed part))
 *
 * The domain prefix keeps a log signature from ever being valid as any other message the same
 * key signs (libp2p's Noise handshake, pairing proofs), and vice versa.
 */
export const SIGNATURE_DOMAIN = Buffer.from('lomo-sitelog-v1\0', 'latin1');

/** PKCS#8 / SPKI DER prefixes of a raw Ed25519 key (RFC 8410): how node:crypto takes raw keys. */
const PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
export const SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

/** An Ed25519 key pair as raw bytes: `seed` is the 32-byte private key (RFC 8032). */
export interface SigningKey {
  seed: Buffer;
  publicKey: Buffer;
  /** node:crypto's handle, made once. */
  readonly keyObject: KeyObject;
}

export function signingKeyFromSeed(seed: Uint8Array): SigningKey {
  if (seed.length !== 32) throw new SiteLogError('malformed', 'an Ed25519 private key (seed) has 32 bytes');
  const keyObject = createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, seed]), format: 'der', type: 'pkcs8' });
  const spki = createPublicKey(keyObject).export({ format: 'der', type: 'spki' });
  return { seed: Buffer.from(seed), publicKey: Buffer.from(spki.subarray(SPKI_PREFIX.length)), keyObject };
}

const publicKeys = new Map<string, KeyObject>();

function publicKeyObject(publicKey: Uint8Array): KeyObject {
  if (publicKey.length !== PUBLIC_KEY_BYTES) throw new SiteLogError('malformed', 'an Ed25519 public key has 32 bytes');
  const hex = Buffer.from(publicKey).toString('hex');
  let k = publicKeys.get(hex);
  if (!k) {
    k = createPublicKey({ key: Buffer.concat([SPKI_PREFIX, publicKey]), format: 'der', type: 'spki' });
    if (publicKeys.size > 10_000) publicKeys.clear();
    publicKeys.set(hex, k);
  }
  return k;
}

export function signatureInput(hash: Uint8Array): Buffer {
  return Buffer.concat([SIGNATURE_DOMAIN, hash]);
}

/** Encodes, hashes and signs an entry with `key` (the log's current signing key, or its recovery key for a succession). */
export function signEntry(e: UnsignedEntry, key: SigningKey): SiteLogEntry {
  const signed = encodeUnsigned(e);
  return assemble(signed, edSign(null, signatureInput(hashOf(signed)), key.keyObject));
}

/**
 * libsodium's crypto_sign_verify_detached when sodium-native loads (about twice OpenSSL's rate
 * through node:crypto: no KeyObject, no EVP context per call) — the rate that bounds a log sync.
 * LOMO_SODIUM=wasm (the tests' switch for the other backend) keeps node:crypto here. libsodium
 * refuses a few edge forms OpenSSL accepts (small-order keys, non-canonical encodings); no honest
 * signer produces them, and test/sitelog/vectors checks both paths agree on every vector.
 */
type NativeVerify = (signature: Buffer, message: Buffer, publicKey: Buffer) => boolean;
const nativeVerify: NativeVerify | null = (() => {
  if (process.env.LOMO_SODIUM === 'wasm') return null;
  try {
    return (createRequire(import.meta.url)('sodium-native') as { crypto_sign_verify_detached: NativeVerify }).crypto_sign_verify_detached;
  } catch {
    return null;
  }
})();

/** Where the sodium-native module verifySignature uses was loaded from (null: node:crypto); a worker thread loads the same (signature-thread.ts). */
export const SODIUM_NATIVE_PATH: string | null = nativeVerify ? createRequire(import.meta.url).resolve('sodium-native') : null;

/** True when `entry` carries a valid signature by `publicKey` (Ed25519: libsodium's checks, else OpenSSL's strict RFC 8032 ones). */
export function verifySignature(entry: SiteLogEntry, publicKey: Uint8Array): boolean {
  if (nativeVerify) {
    if (publicKey.length !== PUBLIC_KEY_BYTES || entry.signature.length !== 64) return false;
    try {
      return nativeVerify(entry.signature, signatureInput(entry.hash), Buffer.isBuffer(publicKey) ? publicKey : Buffer.from(publicKey));
    } catch {
      return false;
    }
  }
  try {
    return edVerify(null, signatureInput(entry.hash), publicKeyObject(publicKey), entry.signature);
  } catch {
    return false;
  }
}
