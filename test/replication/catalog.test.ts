/**
 * The catalog side of replication (storage/replication/catalog.ts) on a real catalog with this
 * site's log open: what the planner reads, and that a peer placement is recorded and logged in one
 * step, so another household derives it from the log alone.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Db } from '../../storage/catalog/db.js';
import { loadSodium } from '../../storage/crypto/sodium.js';
import { saveObject } from '../../storage/objects/catalog.js';
import type { ObjectRecord } from '../../storage/objects/writer.js';
import { holdingsOfObject } from '../../storage/placements/holdings.js';
import { recordPlacement } from '../../storage/placements/placements.js';
import { candidates, droppable, ownObjects, peerPlacements, placementFromCatalog, recordPeerPlacement, retirePeerPlacement } from '../../storage/replication/catalog.js';
import { loadPolicy, savePolicy } from '../../storage/replication/policy.js';
import { attachLocalLog, detachLocalLog } from '../../storage/sitelog/local-log.js';
import { acceptRemote, entriesOf } from '../../storage/sitelog/store.js';
import { siteIdOfKey } from '../../storage/sitelog/site-id.js';
import { decodeBody } from '../../storage/sitelog/body.js';
import { KIND } from '../../storage/sitelog/entry.js';
import { savePairedPeer } from '../../storage/trust/peers.js';
import { seeded, type Random } from '../support/random.js';
import { cleanup, keyFrom, tempCatalog } from '../sitelog/logs.js';

afterEach(cleanup);

function record(r: Random, kind: ObjectRecord['kind'], chunks = 2): ObjectRecord {
  const cs = Array.from({ length: chunks }, (_, index) => ({ index, size: 1000 + index, sha256: r.bytes(32), merkleRoot: r.bytes(32) }));
  return {
    objectId: r.bytes(16), kind, formatVersion: 1, messageSize: 1 << 20, chunkPlain: 8 << 20, plainSize: 1900, plainSha256: r.bytes(32),
    cipherSize: cs.reduce((n, c) => n + c.size, 0), cipherSha256: r.bytes(32), chunks: cs,
  };
}

async function site(label: string) {
  const r = seeded(`replication/catalog ${label}`);
  const key = keyFrom(r);
  const db = tempCatalog(key);
  db.prepare('INSERT INTO sitelog_local (id, origin, delta_key, started_at) VALUES (1, ?, ?, 1)').run(key.publicKey, r.bytes(32));
  attachLocalLog(db, await loadSodium(), key);
  const peer = (name: string) => {
    const id = siteIdOfKey(keyFrom(r).publicKey);
    savePairedPeer(db, { peerId: id, name, siteName: name, addrs: [], quotaOffered: null, quotaGranted: null, introducedBy: null });
    return id;
  };
  return { r, key, db, peer, self: siteIdOfKey(key.publicKey) };
}

/** A volume of this site with one file version in it (rows the scanner and iso create would write). */
function volumeWithFile(db: Db): { volumeId: number; fileId: number } {
  const root = Number(db.prepare("INSERT INTO scan_roots (path, added_at) VALUES (x'2f6c6962', 1)").run().lastInsertRowid);
  const dir = Number(db.prepare("INSERT INTO dirs (root_id, rel_path) VALUES (?, x'')").run(root).lastInsertRowid);
  const volumeId = Number(db.prepare("INSERT INTO volumes (name, size, created_at) VALUES ('v1.iso', 4096, 1)").run().lastInsertRowid);
  const fileId = Number(
    db.prepare("INSERT INTO files (dir_id, name, kind, size, mtime_ms, status, first_seen_at, volume_id) VALUES (?, x'61', 'file', 10, 1, 'current', 1, ?)").run(dir, volumeId)
      .lastInsertRowid,
  );
  return { volumeId, fileId };
}

describe('replication catalog', () => {
  it('stores the policy: defaults, then what node --replicas / --holder-stale set', async () => {
    const { db } = await site('policy');
    expect(loadPolicy(db)).toEqual({ replicas: 2, holderStaleMs: 14 * 86_400_000 });
    expect(savePolicy(db, { replicas: 3 })).toEqual({ replicas: 3, holderStaleMs: 14 * 86_400_000 });
    expect(savePolicy(db, { holderStaleMs: 60_000 })).toEqual({ replicas: 3, holderStaleMs: 60_000 });
    expect(() => savePolicy(db, { replicas: 17 })).toThrow(RangeError);
    expect(() => savePolicy(db, { replicas: 1.5 })).toThrow(RangeError);
  });

  it('lists own objects with their peer holders and the family as candidates', async () => {
    const { r, db, peer } = await site('inputs');
    const b = peer('B');
    const c = peer('C');
    const d = peer('D');
    db.prepare("UPDATE peers SET confirmation = 'pending' WHERE peer_id = ?").run(c);
    db.prepare('UPDATE peers SET revoked_at = 5, quota_granted = 7 WHERE peer_id = ?').run(d);
    db.prepare('UPDATE peers SET quota_granted = 5000, last_seen_at = 9 WHERE peer_id = ?').run(b);
    const v = saveObject(db, record(r, 'volume'));
    const m = saveObject(db, record(r, 'manifest', 1));
    recordPeerPlacement(db, v, b);
    expect(ownObjects(db)).toEqual([
      { row: v, kind: 'volume', size: 2001, holders: [b] },
      { row: m, kind: 'manifest', size: 1000, holders: [] },
    ]);
    const cs = candidates(db, (id) => id === b);
    expect(cs.find((x) => x.household === b)).toMatchObject({ state: 'trusted', connected: true, quotaGranted: 5000, placedBytes: 2001, lastSeenAt: 9 });
    expect(cs.find((x) => x.household === c)).toMatchObject({ state: 'pending', connected: false });
    expect(cs.find((x) => x.household === d)).toMatchObject({ state: 'revoked', quotaGranted: 7 });
    // One trusted member for R = 2: the family is too small, and status says so.
    expect(placementFromCatalog(db)).toMatchObject({ objects: 2, met: 0, familyTooSmall: true, members: 1 });
  });

  it('records a peer placement with its log entry; another household derives it from the log, and its retirement too', async () => {
    const { r, db, peer, key } = await site('logged');
    const b = peer('B');
    const v = saveObject(db, record(r, 'volume'));
    const before = entriesOf(db, key.publicKey).length;
    const id = recordPeerPlacement(db, v, b, 1234);
    expect(holdingsOfObject(db, v)).toMatchObject([{ id, holder: { site: b }, chunkIndex: null, size: 2001, verifiedAt: 1234 }]);
    const logged = entriesOf(db, key.publicKey).slice(before);
    const placement = logged.filter((e) => e.kind === KIND.placement).map((e) => decodeBody(e.kind, e.body));
    expect(placement).toHaveLength(1);
    expect(placement[0]).toMatchObject({ kind: 'placement', body: { holder: { site: expect.any(Buffer) }, state: 'held', verifiedAt: 1234 } });
    expect(peerPlacements(db)).toEqual([{ placementId: id, objectRow: v, household: b, verifiedAt: 1234 }]);

    // Household B (any member) takes our log and knows who holds what.
    const other = tempCatalog(keyFrom(r));
    acceptRemote(other, entriesOf(db, key.publicKey));
    const row = () => other.prepare('SELECT id FROM objects').pluck().get() as number;
    expect(holdingsOfObject(other, row())).toMatchObject([{ holder: { site: b }, chunkIndex: null, verifiedAt: 1234 }]);

    const mark = entriesOf(db, key.publicKey).length;
    retirePeerPlacement(db, id, 2000);
    expect(holdingsOfObject(db, v)).toEqual([]);
    expect(peerPlacements(db)).toEqual([]);
    acceptRemote(other, entriesOf(db, key.publicKey).slice(mark));
    expect(holdingsOfObject(other, row())).toEqual([]);
    detachLocalLog(db);
  });

  it('lists staging objects to drop once their files are in an archived volume, and stops placing them', async () => {
    const { r, db, peer } = await site('drop');
    const b = peer('B');
    const { volumeId, fileId } = volumeWithFile(db);
    const staged = saveObject(db, record(r, 'file', 1), { fileId });
    const vol = saveObject(db, record(r, 'volume'), { volumeId });
    const p = recordPeerPlacement(db, staged, b);
    // The file is in a volume, but the volume has no copy anywhere yet: the staged object stays.
    expect(droppable(db)).toEqual([]);
    expect(ownObjects(db).map((o) => o.row)).toEqual([staged, vol]);
    // An archive copy of the volume (a folder tier): the staging copies go.
    recordPlacement(db, { volumeId, tierUrl: 'file:///nas/archive', key: 'v1.iso', size: 2001 });
    expect(droppable(db)).toEqual([{ placementId: p, objectRow: staged, household: b, chunkIndex: null }]);
    expect(ownObjects(db).map((o) => o.row)).toEqual([vol]);
  });

  it('counts a peer copy of the volume object as archived too', async () => {
    const { r, db, peer } = await site('drop-peer');
    const b = peer('B');
    const c = peer('C');
    const { volumeId, fileId } = volumeWithFile(db);
    const staged = saveObject(db, record(r, 'file', 1), { fileId });
    const vol = saveObject(db, record(r, 'volume'), { volumeId });
    recordPeerPlacement(db, staged, b);
    expect(droppable(db)).toEqual([]);
    recordPeerPlacement(db, vol, c);
    expect(droppable(db).map((d) => d.household)).toEqual([b]);
  });
});
