/**
 * Writes test/sitelog/vectors/v1.json: fixed keys and entries and the exact bytes, hashes and
 * signatures site log format v1 gives for them (docs/sitelog-format.md). Run once
 * (`LOMO_MAKE_VECTORS=1 npx vite-node test/sitelog/make-vectors.ts`); the JSON is checked in and
 * must never change for format v1: vectors.test.ts holds the code to it. Ed25519 is deterministic;
 * only the catalog delta's secretstream header is random, so its body is checked by decryption.
 */
import fs from 'node:fs';
import path from 'node:path';
import { loadSodium } from '../../storage/crypto/sodium.js';
import { deriveSiteKeys } from '../../storage/crypto/keys.js';
import { encodeBody, type Body } from '../../storage/sitelog/body.js';
import { ZERO_HASH } from '../../storage/sitelog/entry.js';
import { sealCatalogDelta, type CatalogDelta } from '../../storage/sitelog/delta.js';
import { signEntry, signingKeyFromSeed } from '../../storage/sitelog/sign.js';
import { recoveryKey } from '../../storage/sitelog/recovery-key.js';
import { siteIdOfKey } from '../../storage/sitelog/site-id.js';

const h = (b: Uint8Array) => Buffer.from(b).toString('hex');
const fill = (n: number, f: (i: number) => number) => Buffer.from(Array.from({ length: n }, (_, i) => f(i) & 0xff));

export const PASSPHRASE = 'Ünïcödé passphrase for vectors';
export const KDF = { alg: 'argon2id13' as const, opslimit: 2, memlimit: 64 * 1024 * 1024, salt: Buffer.from('000102030405060708090a0b0c0d0e0f', 'hex') };
export const DELTA: CatalogDelta = { v: 1, ops: [{ op: 'file', dir: 'Photos/2024', name: 'IMG_0001.JPG', size: 123456, mtimeMs: 1700000000000, sha256: 'ab'.repeat(32) }] };

type Typed = Exclude<Body, { kind: 'unknown' }>;

export async function makeVectors(): Promise<unknown> {
  const s = await loadSodium('native');
  const keys = deriveSiteKeys(s, PASSPHRASE, KDF);
  const site = signingKeyFromSeed(fill(32, (i) => i + 1));
  const successor = signingKeyFromSeed(fill(32, (i) => 0x80 + i));
  const peer = signingKeyFromSeed(fill(32, (i) => 0x40 + i));
  const recovery = recoveryKey(keys);
  const objectId = fill(16, (i) => 0xa0 + i);
  const typed: (Typed | { kind: 'unknown'; number: number; body: Buffer } | { kind: 'catalogDelta' })[] = [
    { kind: 'siteRecord', body: { formatVersion: 1, opslimit: KDF.opslimit, memlimit: KDF.memlimit, salt: KDF.salt, keyCheck: Buffer.from(keys.checkValue), recoveryPublicKey: recovery.publicKey } },
    {
      kind: 'objectSealed',
      body: {
        objectId, objectKind: 'volume', formatVersion: 1, messageSize: 128, chunkPlain: 256, plainSize: 300, cipherSize: 300 + 2 * 64 + 3 * 17,
        cipherSha256: fill(32, (i) => i * 3),
        chunks: [
          { size: 64 + 256 + 2 * 17, sha256: fill(32, (i) => i * 5), merkleRoot: fill(32, (i) => i * 7) },
          { size: 64 + 44 + 17, sha256: fill(32, (i) => i * 11), merkleRoot: fill(32, (i) => i * 13) },
        ],
      },
    },
    { kind: 'catalogDelta' },
    { kind: 'placement', body: { owner: site.publicKey, objectId, chunkIndex: null, holder: { tierUrl: 'file:///mnt/nas/lomo' }, state: 'held', verifiedAt: 1700000001000 } },
    { kind: 'placement', body: { owner: site.publicKey, objectId, chunkIndex: 1, holder: { site: peer.publicKey }, state: 'held', verifiedAt: 1700000002000 } },
    { kind: 'membership', body: { action: 'paired', subject: peer.publicKey, inviteId: fill(8, (i) => 0xc0 + i), introducer: ZERO_HASH, introducerSeq: 0, revokedAfterSeq: 0, name: 'Grandma' } },
    { kind: 'unknown', number: 200, body: Buffer.from('a kind of a later version') },
    { kind: 'succession', body: { newKey: successor.publicKey } },
    { kind: 'membership', body: { action: 'revoked', subject: peer.publicKey, inviteId: Buffer.alloc(0), introducer: ZERO_HASH, introducerSeq: 0, revokedAfterSeq: 3, name: '' } },
  ];
  let prev: Buffer = ZERO_HASH;
  let signer = site;
  const entries = typed.map((t, i) => {
    const seq = i + 1;
    const time = 1700000000000 + seq * 1000;
    let kind: number;
    let body: Buffer;
    let fields: unknown = null;
    if (t.kind === 'unknown') ({ kind, body } = { kind: t.number, body: t.body });
    else if (t.kind === 'catalogDelta' && !('body' in t)) ({ kind, body } = encodeBody({ kind: 'catalogDelta', body: sealCatalogDelta(s, keys, site.publicKey, DELTA) }));
    else {
      ({ kind, body } = encodeBody(t as Typed));
      fields = JSON.parse(JSON.stringify((t as Typed).body, (_k, v) => (v && v.type === 'Buffer' ? h(Buffer.from(v.data)) : v)));
    }
    const by = t.kind === 'succession' ? 'recovery' : signer === site ? 'site' : 'successor';
    const e = signEntry({ kind, origin: site.publicKey, seq, prev, time, body }, t.kind === 'succession' ? recovery : signer);
    if (t.kind === 'succession') signer = successor;
    prev = e.hash;
    return { seq, kind, time, signer: by, fields, body: h(body), prev: h(e.prev), hash: h(e.hash), signature: h(e.signature), bytes: h(e.bytes) };
  });
  return {
    comment: 'lomo-peer site log format v1 test vectors; see docs/sitelog-format.md. Never edit.',
    passphrase: PASSPHRASE,
    kdf: { alg: KDF.alg, opslimit: KDF.opslimit, memlimit: KDF.memlimit, salt: h(KDF.salt) },
    keys: {
      site: { seed: h(site.seed), publicKey: h(site.publicKey), siteId: siteIdOfKey(site.publicKey) },
      successor: { seed: h(successor.seed), publicKey: h(successor.publicKey), siteId: siteIdOfKey(successor.publicKey) },
      peer: { seed: h(peer.seed), publicKey: h(peer.publicKey), siteId: siteIdOfKey(peer.publicKey) },
      recovery: { seed: h(keys.recoverySeed), publicKey: h(recovery.publicKey) },
      catalogDeltaKey: h(keys.catalogDeltaKey),
    },
    delta: DELTA,
    entries,
  };
}

if (process.env.LOMO_MAKE_VECTORS === '1') {
  const out = path.join(path.dirname(new URL(import.meta.url).pathname), 'vectors/v1.json');
  fs.writeFileSync(out, JSON.stringify(await makeVectors(), null, 2) + '\n');
  console.log(`wrote ${out}`);
}
