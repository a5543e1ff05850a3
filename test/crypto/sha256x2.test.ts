import { describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { loadSha256x2, SHA256X2_STATE_BYTES, type Sha256x2 } from '../../storage/crypto/sha256x2.js';
import { seeded } from '../support/random.js';

const random = seeded('crypto/sha256x2.test.ts');

/**
 * The project's two-stream SHA-256 addon (storage/crypto/sha256x2-native) against node:crypto (OpenSSL): FIPS
 * 180-4 examples, and thousands of random inputs fed in random pieces through update and update2,
 * the two streams of update2 overlapping or identical. On a CPU with the SHA extensions and AVX2
 * the addon must be there (npm ci builds it); elsewhere callers fall back to node:crypto.
 */
const cpu = fs.readFileSync('/proc/cpuinfo', 'utf8');
const capable = process.arch === 'x64' && /\bsha_ni\b/.test(cpu) && /\bavx2\b/.test(cpu);
const sha = (d: Uint8Array) => createHash('sha256').update(d).digest();

describe('two-stream SHA-256 addon', () => {
  const x2 = loadSha256x2();
  it(capable ? 'is built and loads on this CPU (SHA-NI + AVX2)' : 'is not used on a CPU without SHA-NI/AVX2', () => {
    expect(x2 !== null).toBe(capable);
  });
  if (!x2) return;
  const state = (a: Sha256x2) => {
    const s = new Uint8Array(SHA256X2_STATE_BYTES);
    a.init(s);
    return s;
  };

  it('gives the FIPS 180-4 digests', () => {
    const cases: [string, string][] = [
      ['', 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'],
      ['abc', 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad'],
      ['abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq', '248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1'],
    ];
    for (const [msg, hex] of cases) {
      const s = state(x2);
      x2.update(s, Buffer.from(msg));
      expect(x2.digest(s).toString('hex')).toBe(hex);
    }
    const a = state(x2);
    const b = state(x2);
    x2.update2(a, Buffer.from('abc'), b, Buffer.alloc(1_000_000, 'a'));
    expect(x2.digest(a).toString('hex')).toBe(cases[1]![1]);
    expect(x2.digest(b).toString('hex')).toBe('cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0'); // one million 'a'
  });

  it('matches node:crypto for random inputs in random pieces, through update and update2', () => {
    for (let t = 0; t < 400; t++) {
      const da = random.bytes(Math.floor(random.next() * 9000));
      // The second stream: other bytes, or the same bytes shifted (as the object and chunk hashes are).
      const db = t % 2 ? random.bytes(Math.floor(random.next() * 9000)) : da.subarray(Math.floor(random.next() * Math.min(64, da.length + 1)));
      const a = state(x2);
      const b = state(x2);
      let oa = 0;
      let ob = 0;
      while (oa < da.length || ob < db.length) {
        const ka = Math.min(da.length - oa, Math.floor(random.next() * 800));
        const kb = Math.min(db.length - ob, Math.floor(random.next() * 800));
        if (random.next() < 0.75) x2.update2(a, da.subarray(oa, oa + ka), b, db.subarray(ob, ob + kb));
        else {
          x2.update(a, da.subarray(oa, oa + ka));
          x2.update(b, db.subarray(ob, ob + kb));
        }
        oa += ka;
        ob += kb;
      }
      expect(x2.digest(a).equals(sha(da)), `stream A, ${da.length} bytes`).toBe(true);
      expect(x2.digest(b).equals(sha(db)), `stream B, ${db.length} bytes`).toBe(true);
    }
    // Large inputs take the interleaved path for thousands of blocks.
    const big = random.bytes(9 << 20);
    const a = state(x2);
    const b = state(x2);
    x2.update2(a, big, b, big.subarray(8));
    expect(x2.digest(a).equals(sha(big))).toBe(true);
    expect(x2.digest(b).equals(sha(big.subarray(8)))).toBe(true);
  });

  it('refuses what is not a state or not bytes', () => {
    const s = state(x2);
    expect(() => x2.update(new Uint8Array(10), Buffer.from('x'))).toThrow(TypeError);
    expect(() => x2.update(s, 'text' as unknown as Uint8Array)).toThrow(TypeError);
    expect(() => x2.update2(s, Buffer.from('x'), s, Buffer.from('y'))).toThrow(TypeError); // the same state twice
  });
});
