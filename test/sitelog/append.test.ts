import { afterEach, describe, expect, it } from 'vitest';
import { appendBody, acceptRemote, entriesOf } from '../../storage/sitelog/store.js';
import { saveObject, objectById } from '../../storage/objects/catalog.js';
import { holdingsOfObject } from '../../storage/placements/holdings.js';
import { KIND } from '../../storage/sitelog/entry.js';
import { seeded } from '../support/random.js';
import { cleanup, count, keyFrom, tempCatalog } from './logs.js';

afterEach(cleanup);

describe('appendLocal', () => {
  function site(label: string) {
    const r = seeded(`sitelog/append ${label}`);
    const key = keyFrom(r);
    const db = tempCatalog(key);
    return { r, key, db, keys: { origin: key.publicKey, signing: key } };
  }
  const record = (r: ReturnType<typeof seeded>) => ({
    objectId: r.bytes(16), kind: 'volume' as const, formatVersion: 1, messageSize: 1 << 20, chunkPlain: 8 << 20, plainSize: 10, plainSha256: r.bytes(32),
    cipherSize: 91, cipherSha256: r.bytes(32), chunks: [{ index: 0, size: 91, sha256: r.bytes(32), merkleRoot: r.bytes(32) }],
  });
  const sealed = (rec: ReturnType<typeof record>) => ({
    kind: 'objectSealed' as const,
    body: { ...rec, objectKind: rec.kind, chunks: rec.chunks.map((c) => ({ size: c.size, sha256: c.sha256, merkleRoot: c.merkleRoot })) },
  });

  it('writes the entry and the rows it describes together, and a peer accepts the result', () => {
    const { r, db, keys, key } = site('ok');
    const rec = record(r);
    const e = appendBody(db, keys, sealed(rec), { write: () => saveObject(db, rec) });
    expect(e.seq).toBe(1);
    expect(objectById(db, rec.objectId)).not.toBeNull();
    const peer = keyFrom(r);
    const placed = appendBody(db, keys, { kind: 'placement', body: { owner: key.publicKey, objectId: rec.objectId, chunkIndex: null, holder: { site: peer.publicKey }, state: 'held', verifiedAt: 42 } });
    expect(placed.kind).toBe(KIND.placement);
    expect(holdingsOfObject(db, objectById(db, rec.objectId)!.row)).toMatchObject([{ verifiedAt: 42, chunkIndex: null }]);
    const other = tempCatalog(keyFrom(r));
    expect(acceptRemote(other, entriesOf(db, key.publicKey)).accepted).toHaveLength(2);
    expect(holdingsOfObject(other, other.prepare('SELECT id FROM objects').pluck().get() as number)).toHaveLength(1);
  });

  it('is atomic: a failure in the derived write leaves neither the entry nor the rows', () => {
    const { r, db, keys } = site('atomic');
    const rec = record(r);
    expect(() =>
      appendBody(db, keys, sealed(rec), {
        write: () => {
          saveObject(db, rec);
          throw new Error('injected failure after the object rows');
        },
      }),
    ).toThrow('injected');
    expect(count(db, 'sitelog_entries')).toBe(0);
    expect(count(db, 'sitelog_heads')).toBe(0);
    expect(count(db, 'objects')).toBe(0);
    expect(count(db, 'chunks')).toBe(0);
    // and the next append takes seq 1
    expect(appendBody(db, keys, sealed(rec), { write: () => saveObject(db, rec) }).seq).toBe(1);
  });

  it('refuses to sign with a key that is not the log\'s', () => {
    const { r, db, keys } = site('wrong key');
    expect(() => appendBody(db, { ...keys, signing: keyFrom(r) }, sealed(record(r)))).toThrow(/bad signature/);
    expect(count(db, 'sitelog_entries')).toBe(0);
  });
});
