/**
 * Seeded randomness for test data and kill timing, so a failing run can be replayed: one seed per
 * test process, taken from LOMO_TEST_SEED or drawn fresh, and printed next to every failing test
 * (test/support/setup.ts). `LOMO_TEST_SEED=<seed> npx vitest run <file>` draws the same bytes and
 * the same kill moments again.
 */
import { createCipheriv, createHash, randomInt } from 'node:crypto';

export const SEED: number = process.env.LOMO_TEST_SEED ? Number(process.env.LOMO_TEST_SEED) : randomInt(2 ** 31);
if (!Number.isSafeInteger(SEED)) throw new Error(`LOMO_TEST_SEED must be an integer, not ${process.env.LOMO_TEST_SEED}`);

/** A small deterministic PRNG (mulberry32): floats in [0, 1). */
export function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface Random {
  readonly seed: number;
  /** A float in [0, 1). */
  next(): number;
  /** An integer in [0, max). */
  int(max: number): number;
  /** `n` bytes (an AES-CTR keystream: fast enough for tens of MB), different on every call. */
  bytes(n: number): Buffer;
}

/**
 * A stream of randomness named `label` (a test or a file), derived from the run's seed: each
 * label has its own stream, so one test drawing more does not shift another's data.
 */
export function seeded(label: string, seed: number = SEED): Random {
  const key = (what: string) => createHash('sha256').update(`lomo-test:${seed}:${label}:${what}`).digest();
  const next = rng(key('floats').readUInt32LE(0));
  let calls = 0;
  return {
    seed,
    next,
    int: (max) => Math.floor(next() * max),
    bytes: (n) => createCipheriv('aes-128-ctr', key(`bytes:${calls++}`).subarray(0, 16), Buffer.alloc(16)).update(Buffer.alloc(n)),
  };
}
