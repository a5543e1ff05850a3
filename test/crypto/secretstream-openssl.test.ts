import { describe, expect, it } from 'vitest';
import { getCiphers } from 'node:crypto';
import { createRequire } from 'node:module';
import { loadOpenSslPush } from '../../storage/crypto/secretstream-openssl.js';
import { loadSodium, TAG } from '../../storage/crypto/sodium.js';
import { seeded } from '../support/random.js';

const random = seeded('crypto/secretstream-openssl.test.ts');

/**
 * Our secretstream push on OpenSSL's ChaCha20 and Poly1305 (storage/crypto/secretstream-native)
 * against libsodium: the same bytes and the same state as sodium-native's push after every message
 * (lengths around the 16- and 64-byte boundaries, with and without additional data, every tag,
 * a wrapped counter), and libsodium-wrappers decrypts what it pushed. The addon must be there
 * wherever Node's OpenSSL offers ChaCha20-Poly1305 (npm ci builds it).
 */
const require = createRequire(import.meta.url);
const sn = require('sodium-native');
const STATEBYTES: number = sn.crypto_secretstream_xchacha20poly1305_STATEBYTES;

/** A libsodium push state and its stream header, for a random key. */
function newStream(key = random.bytes(32)): { key: Buffer; state: Buffer; header: Buffer } {
  const state = Buffer.alloc(STATEBYTES);
  const header = Buffer.alloc(24);
  sn.crypto_secretstream_xchacha20poly1305_init_push(state, header, key);
  return { key, state, header };
}

describe('secretstream push on OpenSSL (our addon)', () => {
  const fast = loadOpenSslPush();
  const capable = getCiphers().includes('chacha20-poly1305');
  it(capable ? 'is built and loads (Node has ChaCha20-Poly1305)' : 'is not used without ChaCha20-Poly1305', () => {
    expect(fast !== null).toBe(capable);
  });
  if (!fast) return;

  it('gives libsodium’s bytes and state, message after message', () => {
    const lengths = [0, 1, 15, 16, 17, 31, 32, 47, 48, 63, 64, 65, 100, 255, 4096, 65535, 65536, 65537, 1 << 20, (1 << 20) + 5];
    for (let i = 0; i < 40; i++) lengths.push(random.int(300_000));
    const ads = [null, Buffer.alloc(0), random.bytes(1), random.bytes(15), random.bytes(16), random.bytes(64), random.bytes(1000)];
    const { state } = newStream();
    const ours = Buffer.from(state);
    lengths.forEach((len, i) => {
      const m = random.bytes(len);
      const ad = ads[i % ads.length]!;
      const tag = [TAG.MESSAGE, TAG.PUSH, TAG.MESSAGE, TAG.FINAL][i % 4]!;
      const want = Buffer.alloc(len + 17);
      const got = Buffer.alloc(len + 17);
      sn.crypto_secretstream_xchacha20poly1305_push(state, want, m, ad, tag);
      fast.push(ours, got, m, ad, tag);
      expect(got.equals(want), `message ${i}: ${len} bytes, ad ${ad?.length ?? 'none'}, tag ${tag}`).toBe(true);
      expect(ours.equals(state), `state after message ${i}`).toBe(true);
    });
  });

  it('rekeys as libsodium does: on the REKEY tag and when the counter wraps', () => {
    const { state } = newStream();
    const ours = Buffer.from(state);
    const step = (tag: number) => {
      const m = random.bytes(333);
      const want = Buffer.alloc(350);
      const got = Buffer.alloc(350);
      sn.crypto_secretstream_xchacha20poly1305_push(state, want, m, null, tag);
      fast.push(ours, got, m, null, tag);
      expect(got.equals(want)).toBe(true);
      expect(ours.equals(state)).toBe(true);
    };
    step(TAG.REKEY);
    step(TAG.MESSAGE);
    // The 32-bit message counter sits at bytes 32..35 of the state (after the key).
    state.writeUInt32LE(0xffffffff, 32);
    ours.writeUInt32LE(0xffffffff, 32);
    const before = Buffer.from(state.subarray(0, 32));
    step(TAG.MESSAGE);
    expect(state.subarray(0, 32).equals(before)).toBe(false); // the wrap did rekey
    step(TAG.MESSAGE);
  });

  it('pushes a stream that libsodium-wrappers (WebAssembly) decrypts', async () => {
    const wasm = await loadSodium('wasm');
    const { key, state, header } = newStream();
    const plain = [random.bytes(1 << 20), random.bytes(12345), random.bytes(0), random.bytes(77)];
    const ad = random.bytes(64);
    const pushed = plain.map((m, i) => {
      const out = Buffer.alloc(m.length + 17);
      fast.push(state, out, m, i === 0 ? ad : null, i === plain.length - 1 ? TAG.FINAL : TAG.MESSAGE);
      return out;
    });
    const pull = wasm.pullInit(header, key);
    pushed.forEach((c, i) => {
      const r = wasm.pull(pull, c, i === 0 ? ad : null);
      expect(r, `message ${i}`).not.toBeNull();
      expect(Buffer.from(r!.message).equals(plain[i]!)).toBe(true);
      expect(r!.tag).toBe(i === plain.length - 1 ? TAG.FINAL : TAG.MESSAGE);
    });
    // One flipped bit and libsodium refuses the message.
    const { key: k2, state: s2, header: h2 } = newStream();
    const out = Buffer.alloc(1017);
    fast.push(s2, out, random.bytes(1000), null, TAG.FINAL);
    out[500]! ^= 4;
    expect(wasm.pull(wasm.pullInit(h2, k2), out, null)).toBeNull();
  });

  it('refuses a wrong state, a wrong output size and overlapping buffers, leaving the state as it was', () => {
    const { state } = newStream();
    const copy = Buffer.from(state);
    const m = random.bytes(100);
    expect(() => fast.push(state.subarray(0, 51), Buffer.alloc(117), m, null, 0)).toThrow(/52-byte state/);
    expect(() => fast.push(state, Buffer.alloc(116), m, null, 0)).toThrow(/message length \+ 17/);
    expect(() => fast.push(state, Buffer.alloc(117), m, null, 256)).toThrow(/tag 0-255/);
    const slot = Buffer.alloc(300);
    expect(() => fast.push(state, slot.subarray(50, 167), slot.subarray(0, 100), null, 0)).toThrow(/overlap/);
    expect(state.equals(copy)).toBe(true);
  });
});
