/**
 * Archiving volumes (`upload iso`): each volume goes to the archive tier as ONE object — the
 * encrypted volume's chunks concatenated (each S3 part one chunk), or with encrypt: false the plain
 * image — then its manifest, and counts only once the tier verified it (placement + volume row).
 *
 * Two steps, so that a caller can show the plan (dry run, estimate) before anything is sent:
 * `planArchive` picks the volumes and prices them; `archiveVolumes` sends them. Re-running resumes:
 * finished parts are in the upload journal, finished volumes are skipped by their placement.
 */
import fs from 'node:fs';
import type { Db } from '../catalog/db.js';
import { plannedStorageClass } from '../cost/catalog-summary.js';
import { uploadEstimate, usd } from '../cost/estimate.js';
import { classMismatchWarning } from '../cost/storage-class.js';
import type { PriceTable } from '../cost/prices.js';
import { volumeKey } from '../naming/archive-names.js';
import { nameTokenizer, type NameTokenizer } from '../naming/drive-names.js';
import { loadSiteKeys, objectForVolume, type StoredObject } from '../objects/catalog.js';
import { archivableVolume, archivableVolumes, markVolumeArchived } from '../placements/archived-volumes.js';
import { livePlacement, recordPlacement } from '../placements/placements.js';
import { FileTier } from '../tiers/file.js';
import { cipherStream } from '../tiers/object-copy.js';
import type { LomobStorageClass } from '../tiers/s3-classes.js';
import { orphanGraceMs } from '../tiers/orphan-grace.js';
import type { OrphanScope, Tier } from '../tiers/tier.js';
import { formatSize } from '../util/units.js';
import { JobError, noProgress, type ProgressFn } from './job.js';
import type { UnlockKeys } from './unlock.js';

const JOB = 'upload iso';
const MIN_CHUNK_PART = 5 * 1024 * 1024;

export interface ArchiveOptions {
  /** Volume names; empty: every volume without a verified copy in the tier. */
  names: string[];
  /** false: the plain images of volumes made unencrypted. */
  encrypt: boolean;
  /** Send again what the tier already holds, and start unfinished uploads over. */
  force: boolean;
  storageClass: LomobStorageClass;
  /** Multipart part size for the estimate (the tier's own default part size). */
  partSize: number;
  /** Each encrypted volume's parts are its chunks (no part size was asked for). */
  chunkParts: boolean;
  /** The price table for a billed tier's estimate, with a line saying where it comes from; read only when needed. */
  prices?: () => { prices: PriceTable; note?: string };
}

export interface PlannedVolume {
  id: number;
  name: string;
  key: string;
  size: number;
  /** Ciphertext SHA-256 of an encrypted volume (the tier checks it). */
  sha256?: Buffer;
  /** Encrypted volumes with equal chunks of at least 5 MiB: their chunk size. */
  chunkSize?: number;
  open: () => NodeJS.ReadableStream;
  manifest?: StoredObject;
}

export interface ArchivePlan {
  tierUrl: string;
  volumes: PlannedVolume[];
  /** The local object store the encrypted volumes are read from. */
  local: Tier | null;
  /** Which unfinished uploads in the tier are this site's and abandoned (the sweep before sending). */
  orphans: OrphanScope;
}

export interface ArchivedVolume {
  name: string;
  key: string;
  size: number;
  storageClass: string;
  requests: number;
}

export interface ArchiveResult {
  uploaded: ArchivedVolume[];
  /** Requests sent by the tier, by operation (billed tiers), else empty. */
  requests: Record<string, number>;
}

/** The price table is S3's: a tier billed by storage class and request. */
const billed = (tier: Tier) => tier.kind === 's3';

function sources(db: Db, opts: ArchiveOptions, local: Tier | null, tok: NameTokenizer | null): PlannedVolume[] {
  const all = archivableVolumes(db);
  const chosen = opts.names.length
    ? opts.names.map((n) => {
        const v = all.find((x) => x.name === n);
        if (!v) throw new JobError(`no volume named "${n}" in the catalog: see lomo-peer list iso`, 'input');
        return v;
      })
    : all;
  return chosen.map((v): PlannedVolume => {
    if (opts.encrypt) {
      const obj = objectForVolume(db, v.id);
      if (!obj || !local) {
        throw new JobError(`volume ${v.name} is a plain ISO (made with iso create --no-encrypt): nothing leaves this machine unencrypted unless you pass --no-encrypt`, 'usage');
      }
      const sizes = obj.chunks.slice(0, -1).map((c) => c.size);
      const chunkSize = sizes.length && sizes.every((x) => x === sizes[0]) && sizes[0]! >= MIN_CHUNK_PART ? sizes[0] : undefined;
      const manifest = objectForVolume(db, v.id, 'manifest') ?? undefined;
      return { id: v.id, name: v.name, key: volumeKey(db, v, tok), size: obj.cipherSize, sha256: obj.cipherSha256, chunkSize, open: () => cipherStream(local, obj), manifest };
    }
    const file = v.localPath;
    if (!file || !fs.existsSync(file)) {
      throw new JobError(`volume ${v.name} has no plain image file${file ? ` (${file.toString('latin1')} is gone)` : ''}; upload it encrypted (without --no-encrypt)`, 'input');
    }
    return { id: v.id, name: v.name, key: volumeKey(db, v, null), size: fs.statSync(file).size, open: () => fs.createReadStream(file) };
  });
}

/**
 * Ours in the tier: the folders our volume keys live in (an encrypted volume's folder is its root's
 * keyed token, which no other site can produce), and which keys still wait for their upload.
 */
function orphanScope(db: Db, tier: Tier, tok: NameTokenizer | null): OrphanScope {
  const folders = new Set<string>();
  for (const v of archivableVolumes(db)) {
    const encrypted = !!objectForVolume(db, v.id);
    // Without the site's keys (a --no-encrypt run) an encrypted volume's folder is unknown: the journal still knows its uploads.
    if (encrypted && !tok) continue;
    const key = volumeKey(db, v, encrypted ? tok : null);
    const slash = key.lastIndexOf('/');
    if (slash > 0) folders.add(key.slice(0, slash));
  }
  return {
    folders: [...folders],
    pending: (key) => {
      const v = archivableVolume(db, key.slice(key.lastIndexOf('/') + 1));
      return !!v && !livePlacement(db, tier.url, key);
    },
    graceMs: orphanGraceMs(),
  };
}

/** The volumes to send (those the tier holds verified already are left out, unless forced), and the estimate as progress. */
export async function planArchive(db: Db, tier: Tier, opts: ArchiveOptions, unlock: UnlockKeys, onProgress: ProgressFn = noProgress): Promise<ArchivePlan> {
  const info = (message: string) => onProgress({ job: JOB, message, level: 'info' });
  const site = loadSiteKeys(db);
  const local = site ? new FileTier(site.objectsUrl) : null;
  // Encrypted volumes go under their scan root's name token, which needs the site's keys.
  const tok = opts.encrypt && local ? nameTokenizer((await unlock()).keys) : null;
  const volumes = sources(db, opts, local, tok).filter((s) => {
    const done = livePlacement(db, tier.url, s.key);
    if (done && !opts.force && (!s.sha256 || (done.sha256 && done.sha256.equals(s.sha256)))) {
      if (opts.names.length) info(`${s.name} is already uploaded to ${tier.url} (use --force to upload it again)`);
      return false;
    }
    return true;
  });
  const warning = billed(tier) && volumes.length ? classWarning(db, opts, volumes) : null;
  if (warning) onProgress({ job: JOB, message: warning, level: 'warn' });
  if (!volumes.length) {
    info('nothing to upload: every volume is already in the bucket');
  } else if (billed(tier) && !opts.prices) {
    info(`estimate: ${volumes.length} volume(s), ${formatSize(volumes.reduce((a, s) => a + s.size, 0))} to ${tier.url} as ${opts.storageClass} (no price table given)`);
  } else if (billed(tier) && opts.prices) {
    const pt = opts.prices();
    const est = uploadEstimate(pt.prices, opts.storageClass, volumes.map((s) => s.size), opts.chunkParts ? (volumes[0]?.chunkSize ?? opts.partSize) : opts.partSize);
    if (pt.note) info(pt.note);
    info(
      `estimate: ${volumes.length} volume(s), ${formatSize(est.bytes)} to ${tier.url} as ${opts.storageClass}: ${est.requests} requests ${usd(est.requestCost)}, ` +
        `storage ${usd(est.monthly)}/month${est.minDays ? `, at least ${est.minDays} days (${usd(est.minimumCommitment)})` : ''}`,
    );
  } else {
    info(`estimate: ${volumes.length} volume(s), ${formatSize(volumes.reduce((a, s) => a + s.size, 0))} to the folder tier ${tier.url}: no cloud charges`);
  }
  return { tierUrl: tier.url, volumes, local, orphans: orphanScope(db, tier, tok) };
}

/** `cost` planned one storage class (the archive's, else Deep Archive); say so before sending with another. */
function classWarning(db: Db, opts: ArchiveOptions, volumes: PlannedVolume[]): string | null {
  let prices;
  try {
    prices = opts.prices?.().prices;
  } catch {
    prices = undefined; // an unreadable price table is reported by the estimate; the warning stands without figures
  }
  const what = prices ? { prices, bytes: volumes.reduce((a, s) => a + s.size, 0), objects: volumes.length } : undefined;
  return classMismatchWarning(plannedStorageClass(db), opts.storageClass, what);
}

/** Sends the planned volumes, one after the other; each is recorded as soon as the tier verified it. */
export async function archiveVolumes(
  db: Db,
  tier: Tier,
  plan: ArchivePlan,
  opts: Pick<ArchiveOptions, 'force' | 'storageClass' | 'chunkParts'> & { signal?: AbortSignal },
  onProgress: ProgressFn = noProgress,
): Promise<ArchiveResult> {
  const { signal } = opts;
  const uploaded: ArchivedVolume[] = [];
  if (!plan.volumes.length) return { uploaded, requests: {} };
  await tier.prepare?.();
  const orphans = (await tier.sweepOrphans?.(plan.orphans)) ?? [];
  if (orphans.length) onProgress({ job: JOB, level: 'info', message: `aborted ${orphans.length} unfinished upload(s) nobody will resume: ${orphans.join(', ')}` });
  const region = tier.region ? await tier.region() : 'local';
  for (const s of plan.volumes) {
    if (opts.force) await tier.discardUpload?.(s.key);
    const before = tier.requestCount?.() ?? 0;
    let lastPct = -1;
    const stat = await tier.put(s.key, s.open() as never, {
      size: s.size,
      ...(opts.chunkParts && s.chunkSize ? { partSize: s.chunkSize } : {}),
      sha256: s.sha256?.toString('hex'),
      signal,
      onProgress: (n) => {
        const pct = Math.floor((n / s.size) * 10) * 10;
        if (pct !== lastPct) onProgress({ job: JOB, level: 'info', item: s.name, doneBytes: n, totalBytes: s.size, message: `${s.name}: ${pct}% (${formatSize(n)} of ${formatSize(s.size)})` });
        lastPct = pct;
      },
    });
    if (s.manifest && plan.local) {
      const m = s.manifest;
      const ms = await tier.put(`${s.key}.manifest`, cipherStream(plan.local, m) as never, { size: m.cipherSize, sha256: m.cipherSha256.toString('hex'), signal });
      recordPlacement(db, { volumeId: s.id, tierUrl: tier.url, key: `${s.key}.manifest`, remoteId: ms.id, size: m.cipherSize, sha256: m.cipherSha256, storageClass: ms.storageClass });
    }
    db.transaction(() => {
      recordPlacement(db, { volumeId: s.id, tierUrl: tier.url, key: s.key, remoteId: stat.id, size: stat.size, sha256: s.sha256, storageClass: stat.storageClass, region });
      markVolumeArchived(db, s.id, region, tier.bucket ?? tier.url);
    })();
    const requests = (tier.requestCount?.() ?? 0) - before;
    const storageClass = stat.storageClass ?? (billed(tier) ? opts.storageClass : tier.kind);
    const counted = tier.requestCount ? `, ${requests} requests)` : ')';
    onProgress({ job: JOB, level: 'info', item: s.name, final: true, message: `${s.name}: uploaded and verified (${formatSize(stat.size)}, ${storageClass}${counted}` });
    uploaded.push({ name: s.name, key: s.key, size: stat.size, storageClass, requests });
  }
  return { uploaded, requests: tier.requests ? Object.fromEntries(tier.requests) : {} };
}
