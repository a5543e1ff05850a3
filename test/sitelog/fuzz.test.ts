import { describe, expect, it } from 'vitest';
import { decodeBody } from '../../storage/sitelog/body.js';
import { decodeEntry, entryLength, HEADER_BYTES, SiteLogError } from '../../storage/sitelog/entry.js';
import { seeded } from '../support/random.js';
import { keyFrom, MemLog, membership, sealedObject } from './logs.js';

/**
 * The decoders take bytes from peers: whatever they get, they return a value or throw
 * SiteLogError — never another error, never a hang, never an allocation from an unchecked length.
 */
describe('site log decoders, fuzzed', () => {
  it('100,000 mutated and random inputs give only SiteLogError', () => {
    const r = seeded('sitelog/fuzz');
    const log = new MemLog(keyFrom(r));
    log.append(sealedObject(r, 3));
    log.append(membership('paired', keyFrom(r).publicKey, { name: 'ü' }));
    log.append({ kind: 'placement', body: { owner: log.key.publicKey, objectId: r.bytes(16), chunkIndex: 2, holder: { tierUrl: 's3://b/p' }, state: 'held', verifiedAt: 5 } });
    log.append({ kind: 'siteRecord', body: { formatVersion: 1, opslimit: 3, memlimit: 1 << 26, salt: r.bytes(16), keyCheck: r.bytes(32), recoveryPublicKey: r.bytes(32) } });
    log.append({ kind: 'succession', body: { newKey: r.bytes(32) } });
    const seeds = log.entries.map((e) => e.bytes);
    let ok = 0;
    let refused = 0;
    for (let i = 0; i < 100_000; i++) {
      const base = seeds[r.int(seeds.length)]!;
      let b: Buffer;
      const how = r.int(4);
      if (how === 0) b = r.bytes(r.int(400));
      else if (how === 1) b = base.subarray(0, r.int(base.length + 1));
      else {
        b = Buffer.from(base);
        for (let k = 1 + r.int(4); k > 0; k--) b[r.int(b.length)] = r.int(256);
      }
      try {
        if (b.length >= HEADER_BYTES) entryLength(b);
        const e = decodeEntry(b);
        decodeBody(e.kind, e.body);
        ok++;
      } catch (err) {
        if (!(err instanceof SiteLogError)) throw new Error(`input ${b.toString('hex')} threw ${(err as Error).stack}`);
        refused++;
      }
    }
    expect(ok + refused).toBe(100_000);
    expect(refused).toBeGreaterThan(50_000);
  });

  it('body decoders alone: 100,000 random bodies of every kind', () => {
    const r = seeded('sitelog/fuzz bodies');
    for (let i = 0; i < 100_000; i++) {
      const kind = 1 + r.int(7);
      const body = r.bytes(r.int(kind === 2 ? 300 : 120));
      try {
        decodeBody(kind, body);
      } catch (err) {
        if (!(err instanceof SiteLogError)) throw new Error(`kind ${kind} body ${body.toString('hex')} threw ${(err as Error).stack}`);
      }
    }
  });
});
