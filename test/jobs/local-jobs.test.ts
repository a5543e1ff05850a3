/**
 * The local jobs through their library API, with no CLI in between: what the node's scheduler will
 * call. A small library is scanned (by the CLI), packed into an encrypted volume and restored, file by file and
 * as a whole image; the bytes must come back identical.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openCatalog, type Db } from '../../storage/catalog/db.js';
import { newKdfParams, SiteKeys, WrongPassphraseError } from '../../storage/crypto/keys.js';
import { loadSodium, type Sodium } from '../../storage/crypto/sodium.js';
import { listVolumes } from '../../storage/iso/volume-store.js';
import { JobError, type JobProgress } from '../../storage/jobs/job.js';
import { packVolumes } from '../../storage/jobs/pack-volumes.js';
import { restoreFiles } from '../../storage/jobs/restore-files.js';
import { restoreVolume } from '../../storage/jobs/restore-volume.js';
import { saveSiteKeys } from '../../storage/objects/catalog.js';
import { FORMAT_VERSION } from '../../storage/objects/format.js';
import type { ReadContext } from '../../storage/objects/reader.js';
import { FileTier } from '../../storage/tiers/file.js';
import { runCli } from '../support/cli.js';
import { rng, seeded } from '../support/random.js';

const rand = seeded('local-jobs');

const SEED = 1107;
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** Deterministic file contents from the seeded generator (printed seed replays a failure). */
function bytes(next: () => number, n: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = Math.floor(next() * 256);
  return b;
}

interface Site {
  dir: string;
  lib: string;
  db: Db;
  keys: SiteKeys;
  tier: FileTier;
}

/** A scanned library and a site with keys (a random master key: no Argon2id needed here). */
async function makeSite(sodium: Sodium, files: Record<string, Buffer>): Promise<Site> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lomo-jobs-'));
  const lib = path.join(dir, 'lib');
  for (const [rel, content] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(lib, rel)), { recursive: true });
    fs.writeFileSync(path.join(lib, rel), content);
  }
  // The scan's hash workers run from dist/, so the library is scanned by the built CLI.
  const scanned = runCli(['--db', path.join(dir, 'lomob.db'), 'scan', lib]);
  expect(scanned.code, scanned.stderr).toBe(0);
  const db = openCatalog(path.join(dir, 'lomob.db'));
  const keys = new SiteKeys(sodium, rand.bytes(32));
  const tier = new FileTier(path.join(dir, 'objects'));
  saveSiteKeys(db, { siteId: 'site-jobs-test', formatVersion: FORMAT_VERSION, kdf: newKdfParams(sodium), keyCheck: Buffer.from(keys.checkValue), objectsUrl: tier.url, createdAt: Date.now() });
  return { dir, lib, db, keys, tier };
}

describe(`local jobs without the CLI (seed ${SEED})`, () => {
  let sodium: Sodium;
  let site: Site;
  const next = rng(SEED);
  const files = { 'a.jpg': bytes(next, 70_000), 'sub/b.mp4': bytes(next, 300_000), 'sub/deeper/c.txt': Buffer.from('hello family\n') };

  beforeAll(async () => {
    sodium = await loadSodium();
    site = await makeSite(sodium, files);
  });
  afterAll(() => {
    site.db.close();
    fs.rmSync(site.dir, { recursive: true, force: true });
  });

  const read = (): ReadContext => ({ sodium, keys: site.keys, tier: site.tier });

  it('packs an encrypted volume, then restores every file and the whole image with identical bytes', async () => {
    const events: JobProgress[] = [];
    const store = path.join(site.dir, 'store');
    fs.mkdirSync(store);
    const packed = await packVolumes(site.db, {
      volumeSize: 5e9,
      storeDir: store,
      partial: true,
      encrypt: { unlock: async () => ({ sodium, keys: site.keys }) },
      onProgress: (p) => events.push(p),
    });
    expect(packed.volumes).toHaveLength(1);
    expect(packed.volumes[0]!.files).toBe(3);
    expect(packed.volumes[0]!.file.startsWith(site.tier.url)).toBe(true);
    expect(fs.readdirSync(store)).toEqual([]); // encrypted: nothing plain in the store folder
    expect(events.some((e) => e.message?.startsWith(`creating ${packed.volumes[0]!.name}`))).toBe(true);
    expect(events.at(-1)).toMatchObject({ job: 'iso create', final: true, doneItems: 3, totalItems: 3 });

    const to = path.join(site.dir, 'back');
    const restored = await restoreFiles(site.db, read(), { paths: [site.lib], to });
    expect(restored.failed).toEqual([]);
    expect(restored.restored).toHaveLength(3);
    for (const [rel, content] of Object.entries(files)) {
      expect(sha(fs.readFileSync(path.join(to, site.lib, rel))), rel).toBe(sha(content));
    }

    const image = await restoreVolume(site.db, read(), { name: packed.volumes[0]!.name.replace(/\.iso$/, ''), to: path.join(site.dir, 'image') });
    expect(image.sha256).toBe(packed.volumes[0]!.sha256);
    expect(sha(fs.readFileSync(image.to))).toBe(packed.volumes[0]!.sha256);
  });

  it('an unknown volume name is a JobError of kind input, and nothing is created', async () => {
    const to = path.join(site.dir, 'never');
    const err = await restoreVolume(site.db, read(), { name: 'no-such-volume.iso', to }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(JobError);
    expect((err as JobError).kind).toBe('input');
    expect((err as JobError).message).toMatch(/no volume named no-such-volume\.iso/);
    expect(fs.existsSync(to)).toBe(false);
  });

  it('a library path without an encrypted copy is a JobError of kind input', async () => {
    const err = await restoreFiles(site.db, read(), { paths: [path.join(site.dir, 'elsewhere')], to: path.join(site.dir, 'never') }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(JobError);
    expect((err as JobError).kind).toBe('input');
  });

  it('keys that fail to unlock stop the pack before anything is written', async () => {
    const other = await makeSite(sodium, { 'x.jpg': bytes(next, 50_000) });
    try {
      const store = path.join(other.dir, 'store');
      fs.mkdirSync(store);
      const wrong = new SiteKeys(sodium, rand.bytes(32));
      const unlock = async () => {
        wrong.verify(other.keys.checkValue);
        return { sodium, keys: wrong };
      };
      await expect(packVolumes(other.db, { volumeSize: 5e9, storeDir: store, partial: true, encrypt: { unlock } })).rejects.toBeInstanceOf(WrongPassphraseError);
      expect(listVolumes(other.db)).toEqual([]);
      expect(fs.readdirSync(store)).toEqual([]);
      expect(fs.existsSync(other.tier.root) ? fs.readdirSync(other.tier.root) : []).toEqual([]);
    } finally {
      other.db.close();
      fs.rmSync(other.dir, { recursive: true, force: true });
    }
  });
});
