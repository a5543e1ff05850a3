import { describe, expect, it } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { loadSodium, SS_ABYTES, TAG, type Backend, type StreamState } from '../../storage/crypto/sodium.js';
import { loadOpenSslPush } from '../../storage/crypto/secretstream-openssl.js';
import { deriveSiteKeys } from '../../storage/crypto/keys.js';
import { decryptChunk, ChunkError } from '../../storage/objects/chunk-codec.js';
import { decodeHeader, encodeHeader, HEADER_BYTES } from '../../storage/objects/format.js';

/** Fixed bytes, checked in (make-vectors.ts wrote them once with sodium-native). */
const V = JSON.parse(fs.readFileSync(path.join(__dirname, 'vectors/v1.json'), 'utf8'));
const hex = (s: string) => Buffer.from(s, 'hex');

for (const backend of ['native', 'wasm'] as Backend[]) {
  describe(`format v1 vectors with ${backend} libsodium`, async () => {
    const s = await loadSodium(backend);
    const kdf = { ...V.kdf, salt: hex(V.kdf.salt) };
    const keys = deriveSiteKeys(s, V.passphrase, kdf);

    it('derives the same key check and object keys from the passphrase', () => {
      expect(s.backend).toBe(backend);
      expect(Buffer.from(keys.checkValue).toString('hex')).toBe(V.keyCheck);
      expect(Buffer.from(keys.objectKey('objects', hex(V.volume.objectId))).toString('hex')).toBe(V.objectKey);
      expect(Buffer.from(keys.objectKey('catalog', hex(V.manifest.objectId))).toString('hex')).toBe(V.manifestKey);
    });

    it('accepts the checked-in chunks and returns the plaintext', () => {
      const id = hex(V.volume.objectId);
      const c0 = decryptChunk(s, keys, hex(V.volume.chunks[0]), { kind: 'volume', objectId: id, index: 0, last: false });
      const c1 = decryptChunk(s, keys, hex(V.volume.chunks[1]), { kind: 'volume', objectId: id, index: 1, last: true });
      expect(Buffer.concat([c0, c1]).toString('hex')).toBe(V.volume.plain);
      const m = decryptChunk(s, keys, hex(V.manifest.chunks[0]), { kind: 'manifest', objectId: hex(V.manifest.objectId), index: 0, last: true });
      expect(m.toString('hex')).toBe(V.manifest.plain);
    });

    // A secretstream push state is the pull state for the same header, so pushing from it
    // reproduces the writer's bytes exactly: both backends must give the checked-in chunks, and so
    // must the OpenSSL push the encryption workers use (our addon; it takes sodium-native's state).
    const pushers: [string, (state: StreamState, msg: Uint8Array, ad: Uint8Array | null, tag: number) => Uint8Array][] = [
      [`${backend} libsodium`, (state, msg, ad, tag) => s.push(state, msg, ad, tag)],
    ];
    const fast = loadOpenSslPush();
    if (backend === 'native' && fast) {
      pushers.push(['OpenSSL (our addon)', (state, msg, ad, tag) => {
        const out = Buffer.alloc(msg.length + SS_ABYTES);
        fast.push(state as unknown as Uint8Array, out, msg, ad, tag);
        return out;
      }]);
    }
    it.each(pushers)('produces the same bytes given the same stream header (%s push)', (_name, push) => {
      const key = keys.objectKey('objects', hex(V.volume.objectId));
      const plain = hex(V.volume.plain);
      V.volume.chunks.forEach((chunkHex: string, index: number) => {
        const want = hex(chunkHex);
        const h = decodeHeader(want);
        const header = encodeHeader(h);
        expect(header.equals(want.subarray(0, HEADER_BYTES))).toBe(true);
        const state = s.pullInit(h.streamHeader, key);
        const part = plain.subarray(index * 256, (index + 1) * 256);
        const out: Buffer[] = [header];
        for (let m = 0; m * 128 < Math.max(part.length, 1); m++) {
          const msg = part.subarray(m * 128, (m + 1) * 128);
          const last = (m + 1) * 128 >= part.length;
          const tag = !last ? TAG.MESSAGE : index === V.volume.chunks.length - 1 ? TAG.FINAL : TAG.PUSH;
          out.push(Buffer.from(push(state, msg, m === 0 ? header : null, tag)));
        }
        expect(Buffer.concat(out).toString('hex')).toBe(chunkHex);
        expect(want.length).toBe(HEADER_BYTES + part.length + Math.ceil(part.length / 128) * SS_ABYTES);
      });
    });

    it('rejects every single flipped bit of a chunk, naming object and chunk', () => {
      const id = hex(V.volume.objectId);
      const good = hex(V.volume.chunks[1]);
      for (let bit = 0; bit < good.length * 8; bit++) {
        const bad = Buffer.from(good);
        bad[bit >> 3]! ^= 1 << (bit & 7);
        expect(() => decryptChunk(s, keys, bad, { kind: 'volume', objectId: id, index: 1, last: true }), `bit ${bit}`).toThrow(ChunkError);
      }
      const e = (() => {
        try {
          decryptChunk(s, keys, hex(V.volume.chunks[0]), { kind: 'volume', objectId: id, index: 0, last: true });
        } catch (err) {
          return err as Error;
        }
      })();
      expect(e?.message).toBe(`object ${V.volume.objectId} chunk 0: is not the last chunk of the object: the chunks after it are missing`);
    });
  });
}
