import { createHash, type Hash } from 'node:crypto';
import { addonPath, loadAddon } from './addons.js';

/**
 * SHA-256 with two streams interleaved on one core, through the project's own addon
 * (storage/crypto/sha256x2-native: the x86 SHA extensions, built by `npm ci` as an optional dependency). One
 * SHA-256 stream is a chain of dependent instructions, so a second one costs little: measured here,
 * one stream 1.8 GB/s (as OpenSSL), two streams 3.0-3.3 GB/s together. The encrypting pipeline
 * feeds each chunk to its own SHA-256 and to the object's with one pass (encrypt-pool.ts).
 *
 * Missing addon (no compiler at install, another CPU architecture) or a CPU without SHA-NI/AVX2:
 * `loadSha256x2()` returns null and callers use node:crypto, same bytes, one stream at a time.
 * LOMO_SHA256X2=off forces that (tests compare both).
 */
export interface Sha256x2 {
  supported(): boolean;
  /** A state is a 112-byte Uint8Array (layout in storage/crypto/sha256x2-native/src/binding.c); init resets it. */
  init(state: Uint8Array): void;
  update(state: Uint8Array, data: Uint8Array): void;
  /** Feeds dataA to stateA and dataB to stateB, interleaved (the two may overlap or be the same bytes). */
  update2(stateA: Uint8Array, dataA: Uint8Array, stateB: Uint8Array, dataB: Uint8Array): void;
  digest(state: Uint8Array): Buffer;
}

export const SHA256X2_STATE_BYTES = 112;

/** The addon's module path when it loads and this CPU can run it, else null. */
export function sha256x2Path(): string | null {
  return addonPath('lomo-sha256x2', process.env.LOMO_SHA256X2 === 'off');
}

export function loadSha256x2(): Sha256x2 | null {
  return loadAddon<Sha256x2>('lomo-sha256x2', process.env.LOMO_SHA256X2 === 'off');
}

/**
 * Two SHA-256 streams, 0 and 1, fed one at a time or together (interleaved by the addon when it is
 * there, one after the other by node:crypto otherwise). The object writer keeps the plaintext and
 * the object-ciphertext hashes in one of these.
 */
export class Sha256Pair {
  private readonly states: [Uint8Array, Uint8Array] | null;
  private readonly hashes: [Hash, Hash] | null;

  constructor(private readonly x2: Sha256x2 | null = loadSha256x2()) {
    if (x2) {
      this.states = [new Uint8Array(SHA256X2_STATE_BYTES), new Uint8Array(SHA256X2_STATE_BYTES)];
      x2.init(this.states[0]);
      x2.init(this.states[1]);
      this.hashes = null;
    } else {
      this.states = null;
      this.hashes = [createHash('sha256'), createHash('sha256')];
    }
  }

  update(stream: 0 | 1, data: Uint8Array): void {
    if (this.x2) this.x2.update(this.states![stream], data);
    else this.hashes![stream].update(data);
  }

  /** data0 into stream 0 and data1 into stream 1, in one interleaved pass when possible. */
  updateBoth(data0: Uint8Array, data1: Uint8Array): void {
    if (this.x2) this.x2.update2(this.states![0], data0, this.states![1], data1);
    else {
      this.hashes![0].update(data0);
      this.hashes![1].update(data1);
    }
  }

  digest(stream: 0 | 1): Buffer {
    return this.x2 ? this.x2.digest(this.states![stream]) : this.hashes![stream].digest();
  }
}
