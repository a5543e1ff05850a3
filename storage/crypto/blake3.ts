import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';

/**
 * BLAKE3, the hash of the chunks' Merkle trees (docs/crypto-format.md §3): the Rust
 * implementation through @napi-rs/blake-hash when its prebuilt binary loads (SIMD; ~4.2 GB/s per
 * core here on 64 KiB leaves, 2.4x SHA-256 with the SHA extensions), @noble/hashes (pure
 * JavaScript) otherwise. Both give the same bytes (test/crypto/blake3.test.ts checks them against
 * the official BLAKE3 test vectors). LOMO_BLAKE3=native|js forces one.
 *
 * Only the one-shot unkeyed hash is fast in the native binding (its incremental hasher copies its
 * input); keyed hashing is used for the few inner nodes only.
 */
export interface Blake3 {
  readonly backend: 'native' | 'js';
  /** BLAKE3 hash mode, 32 bytes. */
  hash(data: Uint8Array): Buffer;
  /** BLAKE3 keyed_hash mode with a 32-byte key, 32 bytes. */
  keyed(key: Uint8Array, data: Uint8Array): Buffer;
}

const require = createRequire(import.meta.url);

interface NapiBlake {
  blake3(input: Uint8Array): Buffer;
  Blake3Hasher: { newKeyed(key: Buffer): { update(input: Buffer): { digestBuffer(): Buffer } } };
}

const asBuffer = (d: Uint8Array) => (Buffer.isBuffer(d) ? d : Buffer.from(d.buffer, d.byteOffset, d.byteLength));

/** Module locations, for worker threads that load the same backend themselves. */
export function blake3ModulePaths(): { native: string; js: string } {
  return { native: require.resolve('@napi-rs/blake-hash'), js: pathToFileURL(require.resolve('@noble/hashes/blake3.js')).href };
}

export async function loadBlake3(want: 'native' | 'js' | undefined = process.env.LOMO_BLAKE3 as 'native' | 'js' | undefined): Promise<Blake3> {
  if (want !== 'js') {
    try {
      const n = require('@napi-rs/blake-hash') as NapiBlake;
      return {
        backend: 'native',
        hash: (d) => n.blake3(d),
        keyed: (k, d) => n.Blake3Hasher.newKeyed(asBuffer(k)).update(asBuffer(d)).digestBuffer(),
      };
    } catch (e) {
      if (want === 'native') throw e;
    }
  }
  const { blake3 } = (await import('@noble/hashes/blake3.js')) as { blake3: (d: Uint8Array, o?: { key?: Uint8Array }) => Uint8Array };
  return {
    backend: 'js',
    hash: (d) => Buffer.from(blake3(d)),
    keyed: (k, d) => Buffer.from(blake3(d, { key: k })),
  };
}

/** The backend this process uses. */
export const blake3: Blake3 = await loadBlake3();
