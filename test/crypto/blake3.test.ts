import { describe, expect, it } from 'vitest';
import { loadBlake3 } from '../../storage/crypto/blake3.js';
import { merkleRoot, NODE_KEY } from '../../storage/objects/merkle.js';
import { seeded } from '../support/random.js';

const random = seeded('crypto/blake3.test.ts');

/**
 * BLAKE3 is the Merkle hash of every chunk (docs/crypto-format.md §3). Both backends are checked
 * against the official BLAKE3 test vectors (test_vectors/test_vectors.json of BLAKE3-team/BLAKE3:
 * input = bytes i % 251, key "whats the Elvish word for friend", first 32 bytes of output), and
 * the Merkle construction against roots pinned when the format was fixed.
 */
const OFFICIAL: [number, string, string][] = [
  [0, 'af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262', '92b2b75604ed3c761f9d6f62392c8a9227ad0ea3f09573e783f1498a4ed60d26'],
  [1, '2d3adedff11b61f14c886e35afa036736dcd87a74d27b5c1510225d0f592e213', '6d7878dfff2f485635d39013278ae14f1454b8c0a3a2d34bc1ab38228a80c95b'],
  [64, '4eed7141ea4a5cd4b788606bd23f46e212af9cacebacdc7d1f4c6dc7f2511b98', 'ba8ced36f327700d213f120b1a207a3b8c04330528586f414d09f2f7d9ccb7e6'],
  [1025, 'd00278ae47eb27b34faecf67b4fe263f82d5412916c1ffd97c8cb7fb814b8444', '357dc55de0c7e382c900fd6e320acc04146be01db6a8ce7210b7189bd664ea69'],
  [8193, 'bab6c09cb8ce8cf459261398d2e7aef35700bf488116ceb94a36d0f5f1b7bc3b', '954a2a75420c8d6547e3ba5b98d963e6fa6491addc8c023189cc519821b4a1f5'],
  [31744, '62b6960e1a44bcc1eb1a611a8d6235b6b4b78f32e7abc4fb4c6cdcce94895c47', 'efa53b389ab67c593dba624d898d0f7353ab99e4ac9d42302ee64cbf9939a419'],
  [102400, 'bc3e3d41a1146b069abffad3c0d44860cf664390afce4d9661f7902e7943e085', '1c35d1a5811083fd7119f5d5d1ba027b4d01c0c6c49fb6ff2cf75393ea5db4a7'],
];
const KEY = Buffer.from('whats the Elvish word for friend', 'ascii');
const pattern = (n: number) => Buffer.from(Array.from({ length: n }, (_, i) => i % 251));
const LEAF = 64 * 1024;

for (const backend of ['native', 'js'] as const) {
  describe(`BLAKE3 (${backend})`, async () => {
    const b3 = await loadBlake3(backend);

    it('matches the official test vectors in hash and keyed_hash modes', () => {
      expect(b3.backend).toBe(backend);
      for (const [len, hash, keyed] of OFFICIAL) {
        expect(b3.hash(pattern(len)).toString('hex'), `hash of ${len} bytes`).toBe(hash);
        expect(b3.keyed(KEY, pattern(len)).toString('hex'), `keyed_hash of ${len} bytes`).toBe(keyed);
      }
    });

    it('builds the Merkle tree as docs/crypto-format.md specifies', () => {
      expect(NODE_KEY.toString('hex')).toBe(b3.hash(Buffer.from('lomo-peer merkle node v1')).toString('hex'));
      // One leaf (or none): the root is the leaf hash.
      expect(merkleRoot(Buffer.alloc(0), LEAF, b3).toString('hex')).toBe(OFFICIAL[0]![1]);
      expect(merkleRoot(pattern(LEAF), LEAF, b3).toString('hex')).toBe('68d647e619a930e7b1082f74f334b0c65a315725569bdc123f0ee11881717bfe');
      // Four leaves, the last short: ((L0 L1) (L2 L3)); three leaves: ((L0 L1) L2), L2 carried up.
      const data = pattern(3 * LEAF + 1000);
      const L = [0, 1, 2, 3].map((i) => b3.hash(data.subarray(i * LEAF, Math.min((i + 1) * LEAF, data.length))));
      const node = (a: Buffer, b: Buffer) => b3.keyed(NODE_KEY, Buffer.concat([a, b]));
      expect(merkleRoot(data, LEAF, b3).equals(node(node(L[0]!, L[1]!), node(L[2]!, L[3]!)))).toBe(true);
      expect(merkleRoot(data, LEAF, b3).toString('hex')).toBe('6c91f86d8870b554d9029c317b4320a860d8a944bfbfc656535d07d77fd76973');
      expect(merkleRoot(data.subarray(0, 3 * LEAF), LEAF, b3).equals(node(node(L[0]!, L[1]!), L[2]!))).toBe(true);
      // A leaf and an inner node over the same 64 bytes differ (different BLAKE3 modes).
      const two = Buffer.concat([L[0]!, L[1]!]);
      expect(b3.hash(two).equals(node(L[0]!, L[1]!))).toBe(false);
    });
  });
}

describe('BLAKE3 backends agree', async () => {
  const [native, js] = await Promise.all([loadBlake3('native'), loadBlake3('js')]);
  it('on random data of awkward sizes, and on Merkle roots', () => {
    for (const n of [0, 1, 1023, 1024, 1025, 65535, 65536, 65537, 300_001]) {
      const d = random.bytes(n);
      expect(native.hash(d).equals(js.hash(d)), `${n} bytes`).toBe(true);
      expect(native.keyed(NODE_KEY, d).equals(js.keyed(NODE_KEY, d)), `${n} bytes keyed`).toBe(true);
      expect(merkleRoot(d, LEAF, native).equals(merkleRoot(d, LEAF, js)), `root of ${n} bytes`).toBe(true);
    }
  });
});
