import { afterEach, describe, expect, it } from 'vitest';
import { acceptRemote, forksOf, headOf } from '../../storage/sitelog/store.js';
import { MAX_ENTRY_BYTES, SiteLogError, decodeEntry } from '../../storage/sitelog/entry.js';
import { signEntry } from '../../storage/sitelog/sign.js';
import { seeded } from '../support/random.js';
import { cleanup, count, keyFrom, MemLog, membership, sealedObject, tempCatalog } from './logs.js';

afterEach(cleanup);

/** Runs `f`, expects a SiteLogError with that code naming that site, and returns it. */
function refused(f: () => unknown, code: SiteLogError['code'], offender: string): SiteLogError {
  try {
    f();
  } catch (err) {
    expect(err).toBeInstanceOf(SiteLogError);
    const e = err as SiteLogError;
    expect(e.code, e.message).toBe(code);
    expect(e.origin).toBe(offender);
    expect(e.message).toContain(offender);
    return e;
  }
  throw new Error(`expected a ${code} refusal`);
}

function setup(label: string) {
  const r = seeded(`sitelog/accept ${label}`);
  const local = keyFrom(r);
  const db = tempCatalog(local);
  const a = new MemLog(keyFrom(r));
  for (let i = 0; i < 5; i++) a.append(sealedObject(r));
  return { r, db, a };
}

describe('acceptRemote', () => {
  it('stores a valid log, derives its objects, and is idempotent', () => {
    const { db, a } = setup('valid');
    expect(acceptRemote(db, a.entries.map((e) => e.bytes)).accepted).toHaveLength(5);
    const again = acceptRemote(db, a.entries);
    expect(again).toEqual({ accepted: [], duplicates: 5 });
    expect(count(db, 'sitelog_entries')).toBe(5);
    expect(headOf(db, a.key.publicKey)).toMatchObject({ seq: 5, siteId: a.siteId, forked: false });
    expect(db.prepare('SELECT count(*) FROM objects WHERE owner_site = ?').pluck().get(a.siteId)).toBe(5);
    // resumes where it stopped: 3 more after a partial sync
    const { r } = setup('valid-2');
    for (let i = 0; i < 3; i++) a.append(sealedObject(r));
    expect(acceptRemote(db, a.entries.slice(3)).accepted.map((e) => e.seq)).toEqual([6, 7, 8]);
  });

  it('refuses a forged signature, naming the site, and stores nothing', () => {
    const { r, db, a } = setup('forged');
    const mallory = keyFrom(r);
    const good = a.entries.slice(0, 4);
    const forged = signEntry({ kind: 2, origin: a.key.publicKey, seq: 5, prev: good[3]!.hash, time: 1, body: a.entries[4]!.body }, mallory);
    refused(() => acceptRemote(db, [...good, forged]), 'signature', a.siteId);
    const flipped = Buffer.from(a.entries[2]!.bytes);
    flipped[100] ^= 1;
    refused(() => acceptRemote(db, [a.entries[0]!.bytes, a.entries[1]!.bytes, flipped]), 'signature', a.siteId);
    expect(count(db, 'sitelog_entries')).toBe(0);
    expect(count(db, 'objects')).toBe(0);
  });

  it('refuses a broken chain, a reordered or replayed entry, a gap and a truncated entry; nothing stored', () => {
    const { r, db, a } = setup('chain');
    const e = a.entries;
    const broken = signEntry({ kind: 2, origin: a.key.publicKey, seq: 3, prev: r.bytes(32), time: 1, body: e[2]!.body }, a.key);
    refused(() => acceptRemote(db, [e[0]!, e[1]!, broken]), 'chain', a.siteId);
    refused(() => acceptRemote(db, [e[0]!, e[2]!, e[1]!]), 'chain', a.siteId);
    refused(() => acceptRemote(db, [e[0]!, e[1]!, e[1]!, e[2]!]), 'chain', a.siteId);
    refused(() => acceptRemote(db, [e[1]!, e[2]!]), 'chain', a.siteId); // a gap: the log starts at 1
    expect(() => acceptRemote(db, [e[0]!.bytes, e[1]!.bytes.subarray(0, e[1]!.bytes.length - 1)])).toThrow(SiteLogError);
    expect(count(db, 'sitelog_entries')).toBe(0);
    // after entries 1..2 are in, entry 4 is a gap
    acceptRemote(db, e.slice(0, 2));
    refused(() => acceptRemote(db, [e[3]!]), 'chain', a.siteId);
    expect(count(db, 'sitelog_entries')).toBe(2);
  });

  it('refuses an oversized entry before reading it', () => {
    const { db } = setup('oversized');
    const big = Buffer.alloc(MAX_ENTRY_BYTES + 1);
    const err = (() => {
      try {
        acceptRemote(db, [big]);
      } catch (e) {
        return e as SiteLogError;
      }
    })();
    expect(err?.code).toBe('oversized');
    expect(() => decodeEntry(big)).toThrow(/exceeds/);
  });

  it('refuses entries a revoked site signed after its revocation, in the same batch or later', () => {
    const { r, db, a } = setup('revoked');
    const b = new MemLog(keyFrom(r));
    b.append(sealedObject(r));
    b.append(sealedObject(r));
    a.append(membership('paired', b.key.publicKey));
    a.append(membership('revoked', b.key.publicKey, { after: 2 }));
    acceptRemote(db, [...a.entries, ...b.entries]); // entries 1..2 of B stay valid
    b.append(sealedObject(r));
    refused(() => acceptRemote(db, [b.entries[2]!]), 'revoked', b.siteId);
    // a fresh catalog that gets B's late entry before A's revocation in one batch refuses too
    const db2 = tempCatalog(keyFrom(r));
    refused(() => acceptRemote(db2, [...b.entries, ...a.entries]), 'revoked', b.siteId);
    expect(count(db2, 'sitelog_entries')).toBe(0);
    expect(count(db, 'sitelog_entries')).toBe(a.entries.length + 2);
  });

  it('keeps a fork as evidence, flags the site and refuses the batch', () => {
    const { r, db, a } = setup('fork');
    acceptRemote(db, a.entries);
    const other = new MemLog(a.key);
    other.entries = a.entries.slice(0, 3);
    other.append(sealedObject(r)); // a second entry 4, validly signed
    refused(() => acceptRemote(db, other.entries, { from: 'peer-x' }), 'fork', a.siteId);
    expect(headOf(db, a.key.publicKey)?.forked).toBe(true);
    const evidence = forksOf(db, a.key.publicKey);
    expect(evidence.map((e) => e.seq)).toEqual([4, 4]);
    expect(evidence[0]!.hash.equals(evidence[1]!.hash)).toBe(false);
    expect(count(db, 'sitelog_entries')).toBe(5); // nothing of the fork in the log itself
    // two different entries with one seq inside a single batch are a fork too
    const db2 = tempCatalog(keyFrom(r));
    refused(() => acceptRemote(db2, [...a.entries.slice(0, 4), other.entries[3]!]), 'fork', a.siteId);
    expect(forksOf(db2, a.key.publicKey)).toHaveLength(2);
    expect(count(db2, 'sitelog_entries')).toBe(0);
  });

  it('a succession hands the log to a new key, signed by the recovery key only', () => {
    const r = seeded('sitelog/accept succession');
    const db = tempCatalog(keyFrom(r));
    const recovery = keyFrom(r);
    const next = keyFrom(r);
    const a = new MemLog(keyFrom(r), recovery);
    a.append({ kind: 'siteRecord', body: { formatVersion: 1, opslimit: 3, memlimit: 64 << 20, salt: r.bytes(16), keyCheck: r.bytes(32), recoveryPublicKey: recovery.publicKey } });
    const forged = new MemLog(a.key, keyFrom(r));
    forged.entries = [...a.entries];
    forged.append({ kind: 'succession', body: { newKey: next.publicKey } });
    refused(() => acceptRemote(db, forged.entries), 'signature', a.siteId);
    a.append({ kind: 'succession', body: { newKey: next.publicKey } });
    a.signer = next;
    a.append(sealedObject(r));
    expect(acceptRemote(db, a.entries).accepted).toHaveLength(3);
    // the old key no longer signs this log
    const stale = signEntry({ kind: 2, origin: a.key.publicKey, seq: 4, prev: a.entries[2]!.hash, time: 1, body: a.entries[2]!.body }, a.key);
    refused(() => acceptRemote(db, [stale]), 'signature', a.siteId);
  });
});
