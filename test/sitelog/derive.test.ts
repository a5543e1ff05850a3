import { afterEach, describe, expect, it } from 'vitest';
import type { Db } from '../../storage/catalog/db.js';
import { acceptRemote } from '../../storage/sitelog/store.js';
import { rebuildDerived } from '../../storage/sitelog/derive.js';
import { seeded, type Random } from '../support/random.js';
import { cleanup, keyFrom, MemLog, membership, sealedObject, tempCatalog } from './logs.js';
import type { SigningKey } from '../../storage/sitelog/sign.js';

afterEach(cleanup);

/** What the catalog knows of other sites, in a form independent of row ids and arrival order. */
function snapshot(db: Db) {
  return {
    objects: db.prepare(`SELECT owner_site, hex(object_id) id, kind, cipher_size, hex(cipher_sha256) sha, chunk_count,
                           (SELECT group_concat(idx || ':' || size || ':' || hex(sha256) || ':' || hex(merkle_root), ',') FROM chunks c WHERE c.object_row = o.id) chunks
                           FROM objects o ORDER BY owner_site, object_id`).all(),
    placements: db.prepare(`SELECT o.owner_site, hex(o.object_id) id, p.chunk_idx, p.peer_site, p.tier_url, p.key, p.size, p.verified_at
                              FROM placements p JOIN objects o ON o.id = p.object_row WHERE p.deleted_at IS NULL
                             ORDER BY 1, 2, 3, 4, 5`).all(),
    members: db.prepare('SELECT site_id, via, admitted_by, admitted_seq, name, revoked_by, revoked_seq, revoked_after FROM sitelog_members ORDER BY site_id').all(),
  };
}

function family(r: Random, local: SigningKey) {
  const a = new MemLog(keyFrom(r));
  const b = new MemLog(keyFrom(r));
  const c = new MemLog(keyFrom(r));
  const d = new MemLog(keyFrom(r)); // introduced by C, then C is revoked
  a.append(membership('paired', local.publicKey, { name: 'us' }));
  // the local site paired A (its own log is not needed here: A's paired entry for "us" and ours for A)
  const objs = [a, b, c].map((s) => Array.from({ length: 4 }, () => s.append(sealedObject(r, 3))));
  a.append(membership('paired', b.key.publicKey, { name: 'B' }));
  b.append(membership('paired', c.key.publicKey, { name: 'C' }));
  c.append(membership('paired', d.key.publicKey, { name: 'D' }));
  const holders = [a, b, c];
  for (const s of holders) {
    for (const owner of [a, b, c]) {
      for (const o of objs[[a, b, c].indexOf(owner)]!) {
        const body = objectIdOf(o.body);
        const verifiedAt = 1000 + r.int(1000);
        s.append({ kind: 'placement', body: { owner: owner.key.publicKey, objectId: body, chunkIndex: r.int(2) ? null : r.int(3), holder: r.int(2) ? { site: s.key.publicKey } : { tierUrl: 'file:///nas/lomo' }, state: r.int(5) ? 'held' : 'gone', verifiedAt } });
      }
    }
  }
  return { a, b, c, d };
}
/** An object-sealed body starts with the object id. */
const objectIdOf = (body: Buffer) => body.subarray(0, 16);

describe('derived state', () => {
  it('rebuilt from the logs equals what incremental accepts built, whatever the arrival order', () => {
    const r = seeded('sitelog/derive');
    const local = keyFrom(r);
    const { a, b, c, d } = family(r, local);
    const logs = [a, b, c, d];
    d.append(sealedObject(r));

    // incremental: logs interleaved in small batches, in a seeded order
    const inc = tempCatalog(local);
    // the local site admits A in its own log
    const self = new MemLog(local);
    self.append(membership('paired', a.key.publicKey, { name: 'A' }));
    acceptRemote(inc, self.entries);
    const cursors = logs.map(() => 0);
    while (cursors.some((n, i) => n < logs[i]!.entries.length)) {
      const i = r.int(logs.length);
      const take = 1 + r.int(5);
      const part = logs[i]!.entries.slice(cursors[i], cursors[i]! + take);
      if (!part.length) continue;
      acceptRemote(inc, part);
      cursors[i]! += part.length;
    }
    const incremental = snapshot(inc);
    expect(incremental.objects.length).toBe(13);
    expect(incremental.placements.length).toBeGreaterThan(5);
    expect(incremental.members.map((m: any) => m.via).sort()).toEqual(['paired', 'paired', 'paired', 'paired', 'self']);

    rebuildDerived(inc);
    expect(snapshot(inc)).toEqual(incremental);

    // a fresh catalog getting everything at once, in another order, derives the same
    const all = tempCatalog(local);
    acceptRemote(all, [...d.entries, ...c.entries, ...self.entries, ...b.entries, ...a.entries]);
    expect(snapshot(all)).toEqual(incremental);

    // revoking C reaches D, whom only C admitted, and keeps C's entries before the cut-off
    a.append(membership('revoked', c.key.publicKey, { after: c.entries.length }));
    acceptRemote(inc, a.entries.slice(-1));
    const after = snapshot(inc);
    const via = Object.fromEntries(after.members.map((m: any) => [m.site_id, m.via]));
    expect(via[c.siteId]).toBe('revoked');
    expect(via[d.siteId]).toBeUndefined();
    expect(via[b.siteId]).toBe('paired');
    rebuildDerived(inc);
    expect(snapshot(inc)).toEqual(after);
  });
});
