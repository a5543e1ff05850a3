/**
 * Issue 12 point 9: `lomo-peer cost` against a hand calculation for the lomob README's library —
 * 50,000 photos of 2 MB and 5,000 videos of 30 MB (250 GB, 55,000 files) packed into 5 GB
 * encrypted volumes (50 of them), planned for Deep Archive, nothing uploaded yet. The catalog rows
 * are written with SQL (a real 250 GB library is not needed to count requests); the hand
 * calculation below is written out line by line from the built-in price table, and every figure
 * the CLI prints must be within 5% of it (most are exact).
 */
import { describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openCatalog, type Db } from '../../storage/catalog/db.js';
import { DEFAULT_PRICES } from '../../storage/cost/prices.js';
import { runCli } from '../support/cli.js';
import { seeded } from '../support/random.js';

const rand = seeded('seed-scenario');


/** Within 5% of the hand figure (both zero counts as equal). */
function near(actual: number, hand: number, what: string): void {
  const off = hand === 0 ? Math.abs(actual) : Math.abs(actual - hand) / hand;
  expect(off, `${what}: cost says ${actual}, hand calculation ${hand}`).toBeLessThanOrEqual(0.05);
}

// ---- The price table, as the hand calculation uses it (checked against the built-in table). ----
const GiB = 2 ** 30; // AWS bills GB as 2^30 bytes
const DA = { storage: 0.00099, put: 0.05, get: 0.0004, minDays: 180, bulkPerGB: 0.0025, bulkPer1000: 0.025, bulkHours: 48 };
const STD = { storage: 0.023, put: 0.005, get: 0.0004 };
const OVERHEAD = { daKB: 32, stdKB: 8 }; // per archived object: 32 KB at the archive price + 8 KB at STANDARD's
const EGRESS = { perGB: 0.09, freeGB: 100 };

// ---- The library. ----
const VOLUMES = 50;
const VOLUME_PLAIN = 5e9; // iso create --iso-size 5G (KB = 1000)
const MANIFEST_PLAIN = 350_000; // ~1,100 file entries and 597 chunk entries as JSON
const CHUNK_PLAIN = 8 * 1024 * 1024; // 8,388,608: storage/objects/format.ts DEFAULT_CHUNK_PLAIN
const MESSAGE = 1024 * 1024; // 1 MiB per secretstream message; each adds 17 bytes; each chunk a 64-byte header

/** Builds the seed's catalog: 50 encrypted 5 GB volumes with manifests, 55,000 files, nothing uploaded. */
function seedCatalog(db: Db, opts: { volumes?: number; objectsFor?: (volumeIndex: number) => boolean } = {}): void {
  const now = Date.now();
  db.transaction(() => {
    db.prepare(`INSERT INTO scan_roots (id, path, added_at) VALUES (1, ?, ?)`).run(Buffer.from('/photos'), now);
    const dir = db.prepare(`INSERT INTO dirs (id, root_id, rel_path) VALUES (?, 1, ?)`);
    const vol = db.prepare(`INSERT INTO volumes (id, name, size, status, files_count, created_at) VALUES (?, ?, ?, 'created', 1100, ?)`);
    const file = db.prepare(`INSERT INTO files (dir_id, name, kind, size, mtime_ms, status, first_seen_at, volume_id) VALUES (?, ?, 'file', ?, ?, 'current', ?, ?)`);
    const obj = db.prepare(
      `INSERT INTO objects (owner_site, object_id, kind, volume_id, format_version, message_size, chunk_plain, leaf_size, plain_size, plain_sha256, cipher_size, cipher_sha256, chunk_count, created_at)
       VALUES ('12D3KooWSeedScenarioSite', ?, ?, ?, 1, ?, ?, 65536, ?, ?, ?, ?, ?, ?)`,
    );
    for (let v = 1; v <= (opts.volumes ?? VOLUMES); v++) {
      dir.run(v, Buffer.from(`v${v}`));
      vol.run(v, `vol-${String(v).padStart(2, '0')}.iso`, VOLUME_PLAIN, now);
      // 1,000 photos of 2 MB + 100 videos of 30 MB = 5 GB per volume.
      for (let i = 0; i < 1000; i++) file.run(v, Buffer.from(`p${i}.jpg`), 2e6, now, now, v);
      for (let i = 0; i < 100; i++) file.run(v, Buffer.from(`v${i}.mp4`), 30e6, now, now, v);
      if (opts.objectsFor && !opts.objectsFor(v)) continue;
      // The object rows as iso create records them (sizes from the format, docs/crypto-format.md).
      obj.run(rand.bytes(16), 'volume', v, MESSAGE, CHUNK_PLAIN, VOLUME_PLAIN, rand.bytes(32), 5_000_119_281, rand.bytes(32), 597, now);
      obj.run(rand.bytes(16), 'manifest', v, MESSAGE, CHUNK_PLAIN, MANIFEST_PLAIN, rand.bytes(32), 350_081, rand.bytes(32), 1, now);
    }
  })();
}

function cost(dbFile: string, args: string[]) {
  return runCli(['--db', dbFile, 'cost', ...args]);
}

describe('cost for the seed library (250 GB, 55,000 files, 5 GB volumes, Deep Archive)', () => {
  it('the hand calculation uses the built-in price table', () => {
    const t = DEFAULT_PRICES;
    expect(t.s3.DEEP_ARCHIVE).toMatchObject({ storage: DA.storage, put: DA.put, get: DA.get, minDays: DA.minDays, overheadKB: { own: OVERHEAD.daKB, standard: OVERHEAD.stdKB } });
    expect(t.s3.DEEP_ARCHIVE!.retrieval!.Bulk).toEqual({ perGB: DA.bulkPerGB, per1000: DA.bulkPer1000, hours: DA.bulkHours });
    expect(t.s3.STANDARD).toMatchObject(STD);
    expect({ perGB: t.egressPerGB, freeGB: t.egressFreeGB }).toEqual(EGRESS);
  });

  it('matches the hand calculation within 5%: storage, minimum, upload requests, full restore, per file vs per volume', () => {
    // ===== Hand calculation =====
    // One volume's ciphertext: 5,000,000,000 / 8,388,608 = 596 full chunks, 389,632 bytes left.
    const fullChunks = Math.floor(VOLUME_PLAIN / CHUNK_PLAIN); //                    596
    const lastPlain = VOLUME_PLAIN - fullChunks * CHUNK_PLAIN; //                    389,632
    const fullChunkCipher = 64 + CHUNK_PLAIN + 8 * 17; //                            8,388,808 (8 messages)
    const lastChunkCipher = 64 + lastPlain + 17; //                                  389,713 (1 message)
    const volumeCipher = fullChunks * fullChunkCipher + lastChunkCipher; //          5,000,119,281
    const chunks = fullChunks + 1; //                                                597 = parts
    const manifestCipher = 64 + MANIFEST_PLAIN + 17; //                              350,081
    expect([fullChunks, lastPlain, fullChunkCipher, volumeCipher, manifestCipher]).toEqual([596, 389_632, 8_388_808, 5_000_119_281, 350_081]);

    // Stored: 50 volumes + 50 manifests = 100 objects.
    const objects = 2 * VOLUMES; //                                                  100
    const storedBytes = VOLUMES * (volumeCipher + manifestCipher); //                250,023,468,100
    // Monthly: bytes + 32 KB/object at Deep Archive's price, 8 KB/object at STANDARD's.
    const monthly = ((storedBytes + objects * OVERHEAD.daKB * 1024) / GiB) * DA.storage + ((objects * OVERHEAD.stdKB * 1024) / GiB) * STD.storage; // $0.23055
    const minimum180 = monthly * (DA.minDays / 30); //                               $1.3833

    // Upload: per volume CreateMultipartUpload + 597 UploadPart + Complete, then the manifest's PutObject.
    const putRequests = VOLUMES * (1 + chunks + 1) + VOLUMES * 1; //                 30,000
    const putCost = (putRequests / 1000) * DA.put; //                                $1.50
    // Checks: HeadObject before and GetObjectAttributes after each of the 100 puts, at $0.0004/1,000;
    // once per run HeadBucket ($0.0004/1,000) and ListMultipartUploads (a LIST, $0.005/1,000).
    const checkCost = (objects / 1000) * STD.get + (objects / 1000) * DA.get + (1 / 1000) * STD.get + (1 / 1000) * STD.put; // $0.0000854
    const uploadAll = putCost + checkCost; //                                        $1.50009

    // Full restore, Bulk, copies readable 3 days (restore aws --days 3); manifests are not read.
    const restoreGB = (VOLUMES * volumeCipher) / GiB; //                             232.836 GB
    const retrieval = restoreGB * DA.bulkPerGB; //                                   $0.58209
    const restoreRequests = (VOLUMES / 1000) * DA.bulkPer1000; //                    $0.00125
    const gets = VOLUMES * chunks; //                                                29,850 ranged GETs, one per chunk
    const heads = VOLUMES * (2 + (DA.bulkHours * 3600) / 900); //                    50 × 194 (--wait polls every 900 s)
    const getCost = ((gets + heads) / 1000) * DA.get; //                             $0.01582
    const restoredCopy = restoreGB * STD.storage * (3 / 30); //                      $0.53552
    const egress = (restoreGB - EGRESS.freeGB) * EGRESS.perGB; //                    132.836 GB × $0.09 = $11.95526
    const restoreTotal = retrieval + restoreRequests + getCost + restoredCopy + egress; // $13.0900

    // Per file (the seed's comparison): 55,000 objects of 250e9 bytes, one PutObject each.
    const files = 55_000;
    const fileBytes = 50_000 * 2e6 + 5_000 * 30e6; //                                250,000,000,000
    const perFilePut = (files / 1000) * DA.put; //                                   $2.75
    const perFileMonthly = ((fileBytes + files * OVERHEAD.daKB * 1024) / GiB) * DA.storage + ((files * OVERHEAD.stdKB * 1024) / GiB) * STD.storage; // $0.24181
    const perFileCheck = (files / 1000) * DA.get; //                                 $0.022
    const perFileRestoreRequests = (files / 1000) * DA.bulkPer1000; //               $1.375
    const perVolumeCheck = (objects / 1000) * DA.get; //                             $0.00004

    // ===== The CLI =====
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lomo-cost-seed-'));
    const dbFile = path.join(dir, 'lomob.db');
    const db = openCatalog(dbFile, { create: true });
    seedCatalog(db);
    db.close();
    const r = cost(dbFile, ['--json']);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.plannedStorageClass).toBe('DEEP_ARCHIVE'); // nothing archived yet: cost's default plan

    const up = out.pendingUpload;
    expect(up).toMatchObject({ storageClass: 'DEEP_ARCHIVE', volumes: 50, manifests: 50, objects, bytes: storedBytes, requests: putRequests, parts: VOLUMES * chunks, minDays: 180 });
    near(up.monthly, monthly, 'monthly storage');
    near(out.monthly.afterPendingUploads, monthly, 'monthly after the uploads');
    near(up.minimumCommitment, minimum180, '180-day minimum');
    near(up.requestCost, putCost, 'upload PUT requests');
    near(up.allRequestCost, uploadAll, 'upload, every request');
    near(up.allRequests, putRequests + 2 * objects + 2, 'upload request count');

    const re = out.restoreAll;
    expect(re).toMatchObject({ tier: 'Bulk', days: 3, volumes: 50, bytes: VOLUMES * volumeCipher, hours: 48, egressFreeGB: 100 });
    expect(re.groups).toEqual([expect.objectContaining({ storageClass: 'DEEP_ARCHIVE', pending: true, volumes: 50, getRequests: gets, headRequests: heads })]);
    near(re.retrieval, retrieval, 'restore retrieval');
    near(re.requests, restoreRequests + getCost, 'restore requests');
    near(re.restoredCopy, restoredCopy, 'restored copy in Standard');
    near(re.egress, egress, 'egress after the free 100 GB');
    near(re.total, restoreTotal, 'full restore');

    const c = out.perFileVsPerVolume;
    expect(c.perFile).toMatchObject({ objects: files, bytes: fileBytes, uploadRequests: files, checkRequests: files, restoreRequests: files });
    near(c.perFile.uploadCost, perFilePut, 'per file: upload');
    near(c.perFile.monthly, perFileMonthly, 'per file: monthly');
    near(c.perFile.minimumCommitment, perFileMonthly * 6, 'per file: 180-day minimum');
    near(c.perFile.checkCost, perFileCheck, 'per file: a check');
    near(c.perFile.restoreRequestCost, perFileRestoreRequests, 'per file: restore requests');
    expect(c.perVolume).toMatchObject({ objects, uploadRequests: putRequests, checkRequests: objects, restoreRequests: VOLUMES });
    near(c.perVolume.uploadCost, putCost, 'per volume: upload');
    near(c.perVolume.monthly, monthly, 'per volume: monthly');
    near(c.perVolume.checkCost, perVolumeCheck, 'per volume: a check');

    // The table a person reads carries the same figures.
    const human = cost(dbFile, []);
    expect(human.code, human.stderr).toBe(0);
    expect(human.stdout).toMatch(/UploadPart \(one per part\)\s+29850\s+0\.05\s+\$1\.49/);
    expect(human.stdout).toMatch(/DEEP_ARCHIVE \(not uploaded yet: as planned\)\s+50\s+232\.84 GiB/);
    expect(human.stdout).toMatch(/egress 232\.84 GiB, first 100 GiB free.*\$11\.96/);
    expect(human.stdout).toMatch(/total\s+50\s+232\.84 GiB\s+\$13\.09/);
    expect(human.stdout).toMatch(/upload PUT requests\s+55000: \$2\.75\s+30000: \$1\.50/);
    fs.rmSync(dir, { recursive: true });
  });

  it('prices each volume by the class recorded for it, pending ones by the plan, and plain volumes by their ranges', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lomo-cost-mixed-'));
    const dbFile = path.join(dir, 'lomob.db');
    const db = openCatalog(dbFile, { create: true });
    // Volume 4 is plain (no encrypted object): sent as its 5 GB image, read back in 16 MiB ranges.
    seedCatalog(db, { volumes: 4, objectsFor: (v) => v !== 4 });
    const sha = (v: number) => (db.prepare(`SELECT cipher_sha256 FROM objects WHERE volume_id = ? AND kind = 'volume'`).get(v) as { cipher_sha256: Buffer }).cipher_sha256;
    const put = db.prepare(`INSERT INTO placements (volume_id, tier_url, key, size, sha256, storage_class, created_at, verified_at) VALUES (?, 's3://family', ?, ?, ?, ?, ?, ?)`);
    const old = Date.now() - 400 * 86_400_000;
    put.run(1, 'v1', 5_000_119_281, sha(1), 'DEEP_ARCHIVE', old, old);
    put.run(2, 'v2', 5_000_119_281, sha(2), 'GLACIER', old, old);
    put.run(4, 'v4', VOLUME_PLAIN, null, 'STANDARD', old, old);
    db.close(); // volume 3 is not uploaded yet

    const r = cost(dbFile, ['--json', '--storage-class', 'DEEP_ARCHIVE', '--restore-tier', 'Standard']);
    expect(r.code, r.stderr).toBe(0);
    const re = JSON.parse(r.stdout).restoreAll;
    // Hand calculation, Standard tier (Deep Archive $0.02/GB + $0.10/1,000, 12 h; Glacier $0.01/GB + $0.05/1,000, 5 h).
    const gb = 5_000_119_281 / GiB; //                                      4.6567 GB per encrypted volume
    const da = { retrieval: gb * 0.02, req: 0.1 / 1000, gets: 597, heads: 2 + (12 * 3600) / 900, copy: gb * STD.storage * 0.1 };
    const gl = { retrieval: gb * 0.01, req: 0.05 / 1000, gets: 597, heads: 2 + (5 * 3600) / 900, copy: gb * STD.storage * 0.1 };
    const st = { gets: Math.ceil(VOLUME_PLAIN / (16 * 1024 * 1024)), heads: 1 }; // 299 ranges, no restore, no copy
    const group = (cls: string, pending: boolean) => re.groups.find((g: { storageClass: string; pending: boolean }) => g.storageClass === cls && g.pending === pending);
    expect(group('DEEP_ARCHIVE', false)).toMatchObject({ volumes: 1, getRequests: 597, headRequests: da.heads, restoreRequests: 1 });
    expect(group('DEEP_ARCHIVE', true)).toMatchObject({ volumes: 1, getRequests: 597, restoreRequests: 1 });
    expect(group('GLACIER', false)).toMatchObject({ volumes: 1, getRequests: 597, headRequests: gl.heads, restoreRequests: 1, hours: 5 });
    expect(group('STANDARD', false)).toMatchObject({ volumes: 1, getRequests: st.gets, headRequests: 1, restoreRequests: 0, retrieval: 0, restoredCopy: 0 });
    near(group('GLACIER', false).retrieval, gl.retrieval, 'Glacier priced as Glacier');
    near(re.retrieval, 2 * da.retrieval + gl.retrieval, 'retrieval');
    near(re.restoredCopy, 2 * da.copy + gl.copy, 'restored copies');
    near(re.requests, 2 * da.req + gl.req + ((2 * (da.gets + da.heads) + gl.gets + gl.heads + st.gets + st.heads) / 1000) * 0.0004, 'requests');
    expect(re.egress).toBe(0); // 19.6 GB: within the free 100 GB
    expect(re.hours).toBe(12);
    fs.rmSync(dir, { recursive: true });
  });

  it('plans with the class the archive already uses when none is given', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lomo-cost-plan-'));
    const dbFile = path.join(dir, 'lomob.db');
    const db = openCatalog(dbFile, { create: true });
    const now = Date.now();
    db.prepare(`INSERT INTO volumes (id, name, size, status, created_at) VALUES (1, 'a.iso', 5e9, 'uploaded', ?), (2, 'b.iso', 5e9, 'created', ?)`).run(now, now);
    db.prepare(`INSERT INTO placements (volume_id, tier_url, key, size, storage_class, created_at, verified_at) VALUES (1, 's3://b', 'a.iso', 5e9, 'GLACIER', ?, ?)`).run(now, now);
    db.close();
    const out = JSON.parse(cost(dbFile, ['--json']).stdout);
    expect(out.plannedStorageClass).toBe('GLACIER');
    expect(out.pendingUpload.storageClass).toBe('GLACIER');
    expect(out.restoreAll.groups.map((g: { storageClass: string; pending: boolean }) => [g.storageClass, g.pending])).toEqual([
      ['GLACIER', false],
      ['GLACIER', true],
    ]);
    fs.rmSync(dir, { recursive: true });
  });
});
