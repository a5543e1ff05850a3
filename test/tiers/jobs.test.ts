/**
 * The cloud jobs through their library API, no CLI in between: a site made by the real CLI (scan,
 * init, iso create), then planArchive/archiveVolumes to S3 on moto, stageFiles to a folder tier,
 * and restoreArchived back — progress by callback, results as objects, the catalog updated.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { makeSite, PASS, type Site } from '../objects/site.js';
import { startMoto, type Moto } from '../support/moto.js';
import { openSiteLog } from '../../node/site-log.js';
import { openCatalog } from '../../storage/catalog/db.js';
import { deriveSiteKeys } from '../../storage/crypto/keys.js';
import { loadSodium } from '../../storage/crypto/sodium.js';
import { archiveVolumes, planArchive, type ArchiveOptions } from '../../storage/jobs/archive-volumes.js';
import { JobError, type JobProgress } from '../../storage/jobs/job.js';
import { restoreArchived } from '../../storage/jobs/restore-archived.js';
import { stageFiles } from '../../storage/jobs/stage-files.js';
import type { UnlockKeys } from '../../storage/jobs/unlock.js';
import { loadSiteKeys } from '../../storage/objects/catalog.js';
import { CatalogJournal } from '../../storage/placements/catalog-journal.js';
import { tierPlacements } from '../../storage/placements/placements.js';
import { openTier } from '../../storage/tiers/open.js';
import { loadPrices } from '../../storage/cost/prices.js';

let moto: Moto;
let tmp: string;
let site: Site;
process.env.LOMO_RETRY_BASE_MS = '5';
const MiB = 1024 * 1024;

beforeAll(async () => {
  moto = await startMoto();
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lomo-jobs-'));
  site = await makeSite(tmp, { 'a/one.jpg': 3 * MiB, 'a/two.jpg': 200_000, 'b/three.txt': Buffer.from('three\n') });
}, 120_000);
afterAll(async () => {
  await moto?.stop();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

describe('cloud jobs called as a library', () => {
  it('archives the volume to S3, records it, then restores it and verifies the bytes', async () => {
    const db = openCatalog(site.db);
    await openSiteLog({ db: site.db, json: false, logLevel: 0 }, db); // an init'ed site logs what it records
    try {
      let unlocks = 0;
      const unlock: UnlockKeys = async () => {
        unlocks++;
        const sodium = await loadSodium();
        return { sodium, keys: deriveSiteKeys(sodium, PASS, loadSiteKeys(db)!.kdf) };
      };
      const tier = await openTier(`s3://jobs-test?region=us-east-1&endpoint=${encodeURIComponent(moto.endpoint)}&class=DEEP_ARCHIVE`, {
        aws: { accessKeyId: 'testing', secretAccessKey: 'testing' },
        journal: new CatalogJournal(db),
      });
      const events: JobProgress[] = [];
      const opts: ArchiveOptions = { names: [], encrypt: true, force: false, storageClass: 'DEEP_ARCHIVE', partSize: 6_000_000, chunkParts: true, prices: () => ({ prices: loadPrices(undefined).prices }) };
      const plan = await planArchive(db, tier, opts, unlock, (p) => events.push(p));
      expect(plan.volumes.map((v) => v.name)).toEqual([site.volume]);
      expect(events.map((e) => e.message).join('\n')).toMatch(/estimate: 1 volume\(s\).*DEEP_ARCHIVE.*at least 180 days/);
      const r = await archiveVolumes(db, tier, plan, opts, (p) => events.push(p));
      expect(r.uploaded).toHaveLength(1);
      expect(r.uploaded[0]).toMatchObject({ name: site.volume, storageClass: 'DEEP_ARCHIVE' });
      expect(r.requests.CreateBucket).toBe(1);
      expect(events.some((e) => e.final && e.item === site.volume && /uploaded and verified/.test(e.message!))).toBe(true);
      expect(db.prepare('SELECT status, region, bucket FROM volumes').get()).toEqual({ status: 'uploaded', region: 'us-east-1', bucket: 'jobs-test' });
      expect(tierPlacements(db, tier.url).map((p) => p.key).sort()).toEqual([r.uploaded[0]!.key, `${r.uploaded[0]!.key}.manifest`].sort());
      // Planned again: nothing left to send.
      expect((await planArchive(db, tier, opts, unlock)).volumes).toEqual([]);

      // Back from Deep Archive: the first call only prices the restore, the second requests and waits.
      const out = path.join(tmp, 'restored.iso');
      const base = { volume: site.volume, out, days: 1, wait: true, pollSeconds: 0.2, concurrency: 2, prices: () => loadPrices(undefined).prices };
      expect(await restoreArchived(db, tier, base, unlock)).toEqual({ status: 'needs-restore', volume: site.volume, storageClass: 'DEEP_ARCHIVE' });
      const done = await restoreArchived(db, tier, { ...base, retrieval: 'Bulk' }, unlock);
      expect(done).toMatchObject({ status: 'restored', volume: site.volume });
      const vol = db.prepare('SELECT sha256 FROM volumes').get() as { sha256: Buffer };
      expect(done.status === 'restored' && done.sha256.equals(vol.sha256)).toBe(true);
      expect(fs.existsSync(out)).toBe(true);
      expect(unlocks).toBeGreaterThan(0);
      // An output that exists is refused before anything is read.
      await expect(restoreArchived(db, tier, base, unlock)).rejects.toMatchObject({ kind: 'usage' });
      await expect(planArchive(db, tier, { ...opts, names: ['nope.iso'] }, unlock)).rejects.toBeInstanceOf(JobError);
    } finally {
      db.close();
    }
  }, 120_000);

  it('stages new files on a folder tier and reports them through the callback', async () => {
    fs.writeFileSync(path.join(site.lib, 'a', 'new.jpg'), Buffer.alloc(70_000, 7));
    expect((await site.cli('scan', site.lib)).code).toBe(0);
    const db = openCatalog(site.db);
    await openSiteLog({ db: site.db, json: false, logLevel: 0 }, db); // an init'ed site logs what it records
    try {
      const tier = await openTier(pathToFileURL(path.join(tmp, 'staging')).href);
      const unlock: UnlockKeys = async () => {
        const sodium = await loadSodium();
        return { sodium, keys: deriveSiteKeys(sodium, PASS, loadSiteKeys(db)!.kdf) };
      };
      const events: JobProgress[] = [];
      const r = await stageFiles(db, tier, { concurrency: 2 }, unlock, (p) => events.push(p));
      expect(r).toEqual({ uploaded: 1, skipped: 0, removedArchived: 0, requests: {} });
      expect(events.find((e) => e.level === 'debug')?.message).toMatch(/new\.jpg -> file:/);
      expect(tierPlacements(db, tier.url)).toHaveLength(1);
      expect((await stageFiles(db, tier, { concurrency: 2 }, unlock)).uploaded).toBe(0);
    } finally {
      db.close();
    }
  }, 60_000);
});
