import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { peerIdFromPublicKey } from '@libp2p/peer-id';
import { publicKeyFromRaw } from '@libp2p/crypto/keys';
import { loadSodium } from '../../storage/crypto/sodium.js';
import { deriveSiteKeys } from '../../storage/crypto/keys.js';
import { decodeBody, encodeBody } from '../../storage/sitelog/body.js';
import { decodeEntry } from '../../storage/sitelog/entry.js';
import { openCatalogDelta } from '../../storage/sitelog/delta.js';
import { signEntry, signingKeyFromSeed, verifySignature } from '../../storage/sitelog/sign.js';
import { recoveryKey } from '../../storage/sitelog/recovery-key.js';
import { emptyLog, verifyChain } from '../../storage/sitelog/chain.js';
import { keyOfSiteId, siteIdOfKey } from '../../storage/sitelog/site-id.js';
import { seeded } from '../support/random.js';

const V = JSON.parse(fs.readFileSync(path.join(import.meta.dirname, 'vectors/v1.json'), 'utf8'));
const hex = (s: string) => Buffer.from(s, 'hex');
const unhex = (v: unknown): unknown =>
  typeof v === 'string' && /^([0-9a-f]{2})*$/.test(v) && v.length >= 2 ? hex(v) : Array.isArray(v) ? v.map(unhex) : v && typeof v === 'object' ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, unhex(x)])) : v;

describe('site log format v1 vectors', () => {
  it('keys: seeds give the public keys, site ids and recovery key of the vectors', async () => {
    const sodium = await loadSodium();
    const keys = deriveSiteKeys(sodium, V.passphrase, { ...V.kdf, salt: hex(V.kdf.salt) });
    expect(Buffer.from(keys.recoverySeed).toString('hex')).toBe(V.keys.recovery.seed);
    expect(recoveryKey(keys).publicKey.toString('hex')).toBe(V.keys.recovery.publicKey);
    expect(Buffer.from(keys.catalogDeltaKey).toString('hex')).toBe(V.keys.catalogDeltaKey);
    for (const k of [V.keys.site, V.keys.successor, V.keys.peer]) {
      expect(signingKeyFromSeed(hex(k.seed)).publicKey.toString('hex')).toBe(k.publicKey);
      expect(siteIdOfKey(hex(k.publicKey))).toBe(k.siteId);
      expect(keyOfSiteId(k.siteId).toString('hex')).toBe(k.publicKey);
    }
  });

  it('a site id is the libp2p peer id of the same Ed25519 key', () => {
    const r = seeded('sitelog/vectors peer ids');
    for (let i = 0; i < 50; i++) {
      const pub = signingKeyFromSeed(r.bytes(32)).publicKey;
      expect(siteIdOfKey(pub)).toBe(peerIdFromPublicKey(publicKeyFromRaw(pub)).toString());
    }
  });

  it('every entry re-encodes, hashes and signs to the exact bytes of the vectors, and the chain verifies', async () => {
    const sodium = await loadSodium();
    const keys = deriveSiteKeys(sodium, V.passphrase, { ...V.kdf, salt: hex(V.kdf.salt) });
    const signers = { site: signingKeyFromSeed(hex(V.keys.site.seed)), successor: signingKeyFromSeed(hex(V.keys.successor.seed)), recovery: recoveryKey(keys) };
    const origin = hex(V.keys.site.publicKey);
    const decoded = [];
    for (const v of V.entries) {
      const body = hex(v.body);
      const e = signEntry({ kind: v.kind, origin, seq: v.seq, prev: hex(v.prev), time: v.time, body }, signers[v.signer as keyof typeof signers]);
      expect(e.bytes.toString('hex'), `entry ${v.seq}`).toBe(v.bytes);
      expect(e.hash.toString('hex')).toBe(v.hash);
      expect(e.signature.toString('hex')).toBe(v.signature);
      const d = decodeEntry(hex(v.bytes));
      expect(d.hash.toString('hex')).toBe(v.hash);
      expect(verifySignature(d, signers[v.signer as keyof typeof signers].publicKey)).toBe(true);
      const b = decodeBody(v.kind, body);
      if (v.fields) {
        expect(encodeBody({ kind: b.kind, body: unhex(v.fields) } as never).body.toString('hex')).toBe(v.body);
      }
      if (b.kind === 'catalogDelta') expect(openCatalogDelta(sodium, keys, origin, b.body)).toEqual(V.delta);
      if (b.kind === 'unknown') expect(b.number).toBe(200);
      decoded.push(d);
    }
    const end = verifyChain(emptyLog(origin), decoded);
    expect(end.seq).toBe(V.entries.length);
    expect(end.signer.toString('hex')).toBe(V.keys.successor.publicKey);
  });
});
