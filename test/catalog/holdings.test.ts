/**
 * Objects of the family's sites and who holds them (migrations 22 and 31) on a real catalog:
 * owners, another site's objects, holdings of whole objects and of single chunks by peer sites
 * and tiers, and the lomob-style placement functions unchanged beside them.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openCatalog, type Db } from '../../storage/catalog/db.js';
import {
  familyObject,
  objectById,
  objectOwners,
  objectsByOwner,
  saveFamilyObject,
  saveObject,
  saveSiteKeys,
  type PublicObjectRecord,
} from '../../storage/objects/catalog.js';
import type { ObjectRecord } from '../../storage/objects/writer.js';
import { familyObjectKey } from '../../storage/naming/object-keys.js';
import { holdingsAt, holdingsOfChunk, holdingsOfObject, holdingsOfOwner, recordHolding } from '../../storage/placements/holdings.js';
import { filePlacements, livePlacement, markDeleted, recordPlacement, tierPlacements } from '../../storage/placements/placements.js';
import { seeded } from '../support/random.js';

const rand = seeded('holdings');

const ME = '12D3KooWDpqtyMaUi24ScDaebpNcepjNk2q2qJGRMCZaDJ4MNnQv';
const SISTER = '12D3KooWSisterSiteAaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa';
const BROTHER = '12D3KooWBrotherSiteBbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb';
const S3 = 's3://family-bucket';
const sha = (b: Buffer) => createHash('sha256').update(b).digest();

function record(chunks = 3, objectId = rand.bytes(16)): ObjectRecord {
  const cs = Array.from({ length: chunks }, (_, index) => ({ index, size: 1000 + index, sha256: sha(Buffer.from([index])), merkleRoot: rand.bytes(32) }));
  return {
    objectId,
    kind: 'file',
    formatVersion: 1,
    messageSize: 1 << 20,
    chunkPlain: 8 << 20,
    plainSize: 2900,
    plainSha256: rand.bytes(32),
    cipherSize: cs.reduce((n, c) => n + c.size, 0),
    cipherSha256: rand.bytes(32),
    chunks: cs,
  };
}
const publicPart = ({ plainSha256: _, ...rest }: ObjectRecord): PublicObjectRecord => rest;

let dir: string;
let db: Db;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lomo-holdings-'));
  db = openCatalog(path.join(dir, 'lomob.db'));
});
afterEach(() => {
  db.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

function init(): void {
  saveSiteKeys(db, {
    siteId: ME,
    formatVersion: 1,
    kdf: { alg: 'argon2id13', opslimit: 1, memlimit: 64 << 20, salt: rand.bytes(16) },
    keyCheck: rand.bytes(32),
    objectsUrl: `file://${dir}/objects`,
    createdAt: Date.now(),
  });
}

function stagingFile(): number {
  const root = Number(db.prepare("INSERT INTO scan_roots (path, added_at) VALUES (?, 0)").run(Buffer.from(`/lib-${rand.bytes(4).toString('hex')}`)).lastInsertRowid);
  const d = Number(db.prepare("INSERT INTO dirs (root_id, rel_path) VALUES (?, x'')").run(root).lastInsertRowid);
  return Number(
    db.prepare("INSERT INTO files (dir_id, name, kind, size, mtime_ms, status, first_seen_at) VALUES (?, ?, 'file', 2900, 0, 'current', 0)").run(d, Buffer.from('a.jpg')).lastInsertRowid,
  );
}

describe('objects and their owners', () => {
  it("this site's objects carry its site id; none can be written before init", () => {
    expect(() => saveObject(db, record())).toThrow(/no site keys/);
    init();
    const rec = record();
    const row = saveObject(db, rec);
    expect(objectById(db, rec.objectId)).toMatchObject({ row, ownerSite: ME, plainSha256: rec.plainSha256 });
    expect(objectsByOwner(db, ME).map((o) => o.row)).toEqual([row]);
  });

  it("records another site's object from public data only, idempotently, apart from this site's", () => {
    init();
    const theirs = record(2);
    const row = saveFamilyObject(db, SISTER, publicPart(theirs));
    expect(saveFamilyObject(db, SISTER, publicPart(theirs))).toBe(row); // a replayed log adds nothing
    expect(() => saveFamilyObject(db, SISTER, { ...publicPart(theirs), cipherSha256: rand.bytes(32) })).toThrow(/other contents/);
    expect(() => saveFamilyObject(db, ME, publicPart(record()))).toThrow(/saveObject/);
    expect(() => saveFamilyObject(db, '../etc', publicPart(record()))).toThrow(/not a site id/);

    const o = familyObject(db, SISTER, theirs.objectId)!;
    expect(o).toMatchObject({ row, ownerSite: SISTER, plainSha256: null, volumeId: null, fileId: null, cipherSha256: theirs.cipherSha256 });
    expect(o.chunks).toEqual(theirs.chunks);
    // The same random id under two owners is two objects; this site's lookups see only its own.
    expect(objectById(db, theirs.objectId)).toBeNull();
    const mine = saveObject(db, { ...record(), objectId: theirs.objectId });
    expect(objectById(db, theirs.objectId)!.row).toBe(mine);
    expect(objectsByOwner(db, SISTER).map((x) => x.row)).toEqual([row]);
    expect(objectOwners(db)).toEqual([{ siteId: ME, objects: 1 }, { siteId: SISTER, objects: 1 }]); // ordered by site id
  });
});

describe('holdings', () => {
  it('a peer site holds single chunks or the whole object; a tier holds it under its family key', () => {
    init();
    const theirs = record(3);
    const row = saveFamilyObject(db, SISTER, publicPart(theirs));
    recordHolding(db, { holder: { site: BROTHER }, objectRow: row, chunkIndex: 0, size: 1000, sha256: theirs.chunks[0]!.sha256, verifiedAt: 1000 });
    recordHolding(db, { holder: { site: BROTHER }, objectRow: row, chunkIndex: 2, size: 1002, verifiedAt: 1000 });
    recordHolding(db, { holder: { site: ME }, objectRow: row, size: theirs.cipherSize, verifiedAt: 1000 });
    const key = familyObjectKey(SISTER, theirs.objectId);
    recordHolding(db, { holder: { tierUrl: S3 }, objectRow: row, key, size: theirs.cipherSize, storageClass: 'DEEP_ARCHIVE', verifiedAt: 1000 });

    expect(holdingsOfObject(db, row).map((h) => [h.holder, h.chunkIndex])).toEqual([
      [{ site: BROTHER }, 0],
      [{ site: BROTHER }, 2],
      [{ site: ME }, null],
      [{ tierUrl: S3 }, null],
    ]);
    expect(holdingsOfChunk(db, row, 1).map((h) => h.holder)).toEqual([{ site: ME }, { tierUrl: S3 }]);
    expect(holdingsOfChunk(db, row, 2)).toHaveLength(3);
    expect(holdingsAt(db, { tierUrl: S3 })).toMatchObject([{ key, ownerSite: SISTER, objectId: theirs.objectId, verifiedAt: 1000 }]);
    expect(holdingsOfOwner(db, SISTER)).toHaveLength(4);
    expect(holdingsOfOwner(db, ME)).toHaveLength(0);

    // Verified again: the same row, a later time. Gone: kept as history, no longer live.
    const again = recordHolding(db, { holder: { site: BROTHER }, objectRow: row, chunkIndex: 0, size: 1000, verifiedAt: 2000 });
    expect(again).toBe(holdingsOfObject(db, row)[0]!.id);
    expect(holdingsAt(db, { site: BROTHER }).map((h) => h.verifiedAt)).toEqual([2000, 1000]);
    markDeleted(db, again);
    expect(holdingsAt(db, { site: BROTHER }).map((h) => h.chunkIndex)).toEqual([2]);
    expect(db.prepare('SELECT count(*) FROM placements WHERE object_row = ?').pluck().get(row)).toBe(4);
  });

  it('refuses holdings that say nothing sensible: a chunk that does not exist, a peer with a tier key, a tier without one', () => {
    init();
    const row = saveFamilyObject(db, SISTER, publicPart(record(2)));
    expect(() => recordHolding(db, { holder: { site: BROTHER }, objectRow: row, chunkIndex: 5, size: 1 })).toThrow(/FOREIGN KEY/);
    expect(() => recordHolding(db, { holder: { site: BROTHER }, objectRow: row, key: 'x', size: 1 })).toThrow(/no tier key/);
    expect(() => recordHolding(db, { holder: { tierUrl: S3 }, objectRow: row, size: 1 })).toThrow(/needs the key/);
    expect(() => recordHolding(db, { holder: { site: 'not/a/site' }, objectRow: row, size: 1 })).toThrow(/not a site id/);
    expect(() => db.prepare("INSERT INTO placements (object_row, tier_url, peer_site, key, size, created_at, verified_at) VALUES (?, 's3://b', ?, 'k', 1, 0, 0)").run(row, BROTHER)).toThrow(/CHECK/);
    expect(() => db.prepare("INSERT INTO placements (tier_url, key, size, created_at, verified_at) VALUES ('s3://b', 'k', 1, 0, 0)").run()).toThrow(/CHECK/);
  });

  it('a tier key that now holds another object retires the old holding', () => {
    init();
    const a = saveFamilyObject(db, SISTER, publicPart(record(1)));
    const b = saveFamilyObject(db, SISTER, publicPart(record(1)));
    recordHolding(db, { holder: { tierUrl: S3 }, objectRow: a, key: 'k', size: 1 });
    recordHolding(db, { holder: { tierUrl: S3 }, objectRow: b, key: 'k', size: 1 });
    expect(holdingsAt(db, { tierUrl: S3 }).map((h) => h.objectRow)).toEqual([b]);
    expect(holdingsOfObject(db, a)).toEqual([]);
  });
});

describe('placements of this site (lomob style) beside holdings', () => {
  it('recordPlacement links the object a copy holds, and the old queries never see peer holdings', () => {
    init();
    const fileId = stagingFile();
    const rec = record(1);
    const row = saveObject(db, rec, { fileId });
    recordPlacement(db, { fileId, tierUrl: 'gdrive://lomorage', key: 'tok/a', size: rec.cipherSize, sha256: rec.cipherSha256 });
    recordPlacement(db, { fileId, tierUrl: 'file:///nas/plain', key: 'a.jpg', size: rec.plainSize }); // a plain copy: no object
    expect(livePlacement(db, 'gdrive://lomorage', 'tok/a')).toMatchObject({ fileId, objectRow: row });
    expect(livePlacement(db, 'file:///nas/plain', 'a.jpg')!.objectRow).toBeNull();
    recordHolding(db, { holder: { site: SISTER }, objectRow: row, size: rec.cipherSize });
    expect(filePlacements(db, fileId, '').map((p) => p.tierUrl).sort()).toEqual(['file:///nas/plain', 'gdrive://lomorage']);
    expect(tierPlacements(db, 'gdrive://lomorage')).toHaveLength(1);
    expect(holdingsOfObject(db, row).map((h) => h.holder)).toEqual([{ tierUrl: 'gdrive://lomorage' }, { site: SISTER }]);
    expect(holdingsOfOwner(db, ME)).toHaveLength(2);
  });
});
