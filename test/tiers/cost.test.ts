/** The cost model and `lomo-peer cost` on a real catalog. */
import { describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openCatalog } from '../../storage/catalog/db.js';
import { runCli } from '../support/cli.js';
import { DEFAULT_PRICES, loadPrices } from '../../storage/cost/prices.js';
import { GB, earlyDeletionFee, monthlyStorage, restoreEstimate, uploadEstimate } from '../../storage/cost/estimate.js';


describe('cost model', () => {
  it('adds the 40 KB per-object overhead (8 KB Standard + 32 KB Deep Archive)', () => {
    const one = monthlyStorage(DEFAULT_PRICES, 'DEEP_ARCHIVE', 0, 1);
    expect(one).toBeCloseTo((32 * 1024 / GB) * 0.00099 + (8 * 1024 / GB) * 0.023, 12);
    // 1 TB in 200 volumes vs in 1,000,000 files: the overhead makes many small objects dearer.
    const few = monthlyStorage(DEFAULT_PRICES, 'DEEP_ARCHIVE', 1024 * GB, 200);
    const many = monthlyStorage(DEFAULT_PRICES, 'DEEP_ARCHIVE', 1024 * GB, 1_000_000);
    expect(few).toBeCloseTo(1024 * 0.00099, 1);
    expect(many / few).toBeGreaterThan(1.2);
  });

  it('counts N + 2 requests per multipart volume and the 180-day minimum', () => {
    const e = uploadEstimate(DEFAULT_PRICES, 'DEEP_ARCHIVE', [5e9, 1e6], 100e6);
    expect(e.requests).toBe(50 + 2 + 1);
    expect(e.requestCost).toBeCloseTo((53 / 1000) * 0.05, 10);
    expect(e.minimumCommitment).toBeCloseTo(e.monthly * 6, 10);
    expect(earlyDeletionFee(DEFAULT_PRICES, 'DEEP_ARCHIVE', 1 * GB, 30)).toBeCloseTo(monthlyStorage(DEFAULT_PRICES, 'DEEP_ARCHIVE', GB, 1) * 5, 10);
    expect(earlyDeletionFee(DEFAULT_PRICES, 'DEEP_ARCHIVE', 1 * GB, 200)).toBe(0);
    const r = restoreEstimate(DEFAULT_PRICES, 'DEEP_ARCHIVE', 'Bulk', 10 * GB, 2, 10);
    expect(r.hours).toBe(48);
    expect(r.retrieval).toBeCloseTo(10 * 0.0025, 10);
  });

  it('lets users override part of the dated table', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lomo-cost-'));
    const f = path.join(dir, 'prices.json');
    fs.writeFileSync(f, JSON.stringify({ asOf: '2030-01-01', s3: { DEEP_ARCHIVE: { storage: 0.002 } } }));
    const { prices } = loadPrices(f);
    expect(prices.asOf).toBe('2030-01-01');
    expect(prices.s3.DEEP_ARCHIVE!.storage).toBe(0.002);
    expect(prices.s3.DEEP_ARCHIVE!.minDays).toBe(180);
    expect(prices.s3.STANDARD!.storage).toBe(0.023);
    fs.rmSync(dir, { recursive: true });
  });
});

describe('lomo-peer cost', () => {
  it('projects monthly and one-off costs from the catalog, with the price table date', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lomo-cost-cli-'));
    const dbFile = path.join(dir, 'lomob.db');
    const db = openCatalog(dbFile, { create: true });
    const now = Date.now();
    db.prepare(`INSERT INTO volumes (id, name, size, status, created_at) VALUES (1, 'a.iso', ?, 'uploaded', ?), (2, 'b.iso', ?, 'created', ?)`).run(5e9, now, 2e9, now);
    db.prepare(`INSERT INTO placements (volume_id, tier_url, key, size, storage_class, created_at, verified_at) VALUES (1, 's3://lomorage', 'a.iso', ?, 'DEEP_ARCHIVE', ?, ?)`).run(5e9, now - 10 * 86_400_000, now);
    db.close();
    const r = runCli(['--db', dbFile, 'cost', '--json', '--part-size', '100M']);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.prices.asOf).toBe(DEFAULT_PRICES.asOf);
    expect(out.monthly.current).toEqual([expect.objectContaining({ tier: 'S3 DEEP_ARCHIVE', objects: 1, bytes: 5e9 })]);
    expect(out.pendingUpload).toMatchObject({ objects: 1, bytes: 2e9, requests: 22, minDays: 180 });
    expect(out.earlyDeletionIfDeletedNow).toBeGreaterThan(0);
    const human = runCli(['--db', dbFile, 'cost']);
    expect(human.stdout).toMatch(/as of \d{4}-\d{2}-\d{2}/);
    expect(human.stdout).toMatch(/minimum 180-day storage/);
    const bad = runCli(['--db', dbFile, 'cost', '--prices', path.join(dir, 'nope.json'), '--part-size', 'xyz']);
    expect(bad.code).toBe(2);
    fs.rmSync(dir, { recursive: true });
  });
});
