/**
 * Writes test/crypto/vectors/v1.json: fixed inputs and the exact bytes format v1 gives for them.
 * Run once (`LOMO_MAKE_VECTORS=1 npx vite-node test/crypto/make-vectors.ts`); the JSON is checked
 * in and must never change for format v1: vectors.test.ts holds both sodium backends to it.
 */
import fs from 'node:fs';
import path from 'node:path';
import { loadSodium } from '../../storage/crypto/sodium.js';
import { deriveSiteKeys } from '../../storage/crypto/keys.js';
import { encryptChunk } from '../../storage/objects/chunk-codec.js';

export async function makeVectors(): Promise<unknown> {
  const s = await loadSodium('native');
  const kdf = { alg: 'argon2id13' as const, opslimit: 2, memlimit: 64 * 1024 * 1024, salt: Buffer.from('000102030405060708090a0b0c0d0e0f', 'hex') };
  const passphrase = 'Ünïcödé passphrase for vectors';
  const keys = deriveSiteKeys(s, passphrase, kdf);
  const objectId = Buffer.from('a0a1a2a3a4a5a6a7a8a9aaabacadaeaf', 'hex');
  const plain = Buffer.from(Array.from({ length: 300 }, (_, i) => (i * 7) & 0xff));
  const p = { kind: 'volume' as const, objectId, messageSize: 128, chunkPlain: 256 };
  const chunk0 = encryptChunk(s, keys.objectKey('objects', objectId), p, 0, plain.subarray(0, 256), false);
  const chunk1 = encryptChunk(s, keys.objectKey('objects', objectId), p, 1, plain.subarray(256), true);
  const manifestId = Buffer.from('b0b1b2b3b4b5b6b7b8b9babbbcbdbebf', 'hex');
  const m = encryptChunk(s, keys.objectKey('catalog', manifestId), { kind: 'manifest', objectId: manifestId, messageSize: 1024, chunkPlain: 1024 }, 0, Buffer.from('{"hello":"manifest"}'), true);
  return {
    comment: 'lomo-peer object format v1 test vectors; see docs/crypto-format.md. Never edit.',
    passphrase,
    kdf: { alg: kdf.alg, opslimit: kdf.opslimit, memlimit: kdf.memlimit, salt: kdf.salt.toString('hex') },
    keyCheck: Buffer.from(keys.checkValue).toString('hex'),
    objectKey: Buffer.from(keys.objectKey('objects', objectId)).toString('hex'),
    manifestKey: Buffer.from(keys.objectKey('catalog', manifestId)).toString('hex'),
    volume: { objectId: objectId.toString('hex'), messageSize: 128, chunkPlain: 256, plain: plain.toString('hex'), chunks: [chunk0.toString('hex'), chunk1.toString('hex')] },
    manifest: { objectId: manifestId.toString('hex'), plain: Buffer.from('{"hello":"manifest"}').toString('hex'), chunks: [m.toString('hex')] },
  };
}

if (process.env.LOMO_MAKE_VECTORS === '1') {
  const out = path.join(path.dirname(new URL(import.meta.url).pathname), 'vectors/v1.json');
  fs.writeFileSync(out, JSON.stringify(await makeVectors(), null, 2) + '\n');
  console.log(`wrote ${out}`);
}
