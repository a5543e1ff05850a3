/**
 * Staging (`upload files`): library files not yet in a volume go to the staging tier (Drive, or a
 * folder), each encrypted as its own object under name tokens that mirror the tree. First the
 * staging lifecycle: copies of files now inside a volume with a verified archive copy are removed
 * for good, each by its own id (on Drive not to the trash, which counts against the quota).
 */
import fs from 'node:fs';
import type { Db } from '../catalog/db.js';
import { stagingFiles, type LibraryFile } from '../catalog/library.js';
import type { SiteKeys } from '../crypto/keys.js';
import type { Sodium } from '../crypto/sodium.js';
import { driveKey, nameTokenizer } from '../naming/drive-names.js';
import { loadSiteKeys, objectForFile, saveObject, type StoredObject } from '../objects/catalog.js';
import { markPending, sweepPending } from '../objects/pending.js';
import { ObjectWriter } from '../objects/writer.js';
import { markDeleted, recordPlacement, stagedCopiesArchived, tierPlacements } from '../placements/placements.js';
import { FileTier } from '../tiers/file.js';
import { cipherStream } from '../tiers/object-copy.js';
import { Pool } from '../tiers/parts.js';
import { removeCopy, type Tier } from '../tiers/tier.js';
import { formatSize } from '../util/units.js';
import { JobError, noProgress, type ProgressFn } from './job.js';
import type { UnlockKeys } from './unlock.js';

const JOB = 'upload files';

export interface StageOptions {
  /** Files in flight at once: per-file latency, not bandwidth, bounds small-photo uploads. */
  concurrency: number;
  signal?: AbortSignal;
}

export interface StageResult {
  uploaded: number;
  /** Files that changed since the last scan (each reported as a warning). */
  skipped: number;
  removedArchived: number;
  /** Requests sent by the tier, by operation (tiers that count them), else empty. */
  requests: Record<string, number>;
}

/** Removes the staged copies of files that are now archived in a verified volume; how many. */
export async function removeArchivedCopies(db: Db, tier: Tier, onProgress: ProgressFn = noProgress): Promise<number> {
  let removed = 0;
  for (const p of stagedCopiesArchived(db, tier.url)) {
    await removeCopy(tier, p.key, p.remoteId);
    markDeleted(db, p.id);
    removed++;
  }
  // Nothing else: each copy was deleted for good (Drive: files.delete by its id, no trash). The
  // user's trash is theirs; emptying it would destroy their own trashed files too.
  if (removed) {
    onProgress({ job: JOB, level: 'info', message: `removed ${removed} staged copies of files that are now archived in a verified volume` });
  }
  return removed;
}

/** Encrypts one staging file into the local object store (or reuses its object); null when it changed since the scan. */
async function stagingObject(db: Db, u: { sodium: Sodium; keys: SiteKeys }, local: FileTier, f: LibraryFile, onProgress: ProgressFn): Promise<StoredObject | null> {
  const have = objectForFile(db, f.id);
  if (have && f.sha256 && have.plainSha256.toString('hex') === f.sha256) return have;
  const w = new ObjectWriter({ sodium: u.sodium, keys: u.keys, tier: local, kind: 'file', maxPlainSize: f.size, onStart: (id) => markPending(db, id, local.url), workers: f.size > 64 * 1024 * 1024 ? 2 : 0 });
  const src = fs.createReadStream(Buffer.from(f.path, 'latin1'));
  await new Promise<void>((resolve, reject) => {
    src.on('error', reject);
    w.on('error', reject);
    w.on('finish', resolve);
    src.pipe(w);
  });
  const rec = await w.result;
  if (f.sha256 && rec.plainSha256.toString('hex') !== f.sha256) {
    onProgress({ job: JOB, level: 'warn', item: f.path, message: `${f.path}: changed since the last scan; skipped (run scan, then upload files again)` });
    return null;
  }
  saveObject(db, rec, { fileId: f.id });
  return objectForFile(db, f.id);
}

export async function stageFiles(db: Db, tier: Tier, opts: StageOptions, unlock: UnlockKeys, onProgress: ProgressFn = noProgress): Promise<StageResult> {
  const { signal } = opts;
  const info = (message: string) => onProgress({ job: JOB, level: 'info', message });
  const result: StageResult = { uploaded: 0, skipped: 0, removedArchived: 0, requests: {} };
  result.removedArchived = await removeArchivedCopies(db, tier, onProgress);
  const staged = new Set(tierPlacements(db, tier.url).map((p) => p.fileId));
  const files = stagingFiles(db).filter((f) => !staged.has(f.id));
  if (!files.length) {
    info('nothing to upload: every staging file is on Drive');
  } else {
    const u = await unlock();
    const site = loadSiteKeys(db);
    if (!site) throw new JobError('this site has no keys yet: run `lomo-peer init` first (with the same --db)', 'usage');
    const local = new FileTier(site.objectsUrl);
    // What a killed run left in local object stores goes first (storage/objects/pending.ts).
    const swept = await sweepPending(db, (url) => (url.startsWith('file:') ? new FileTier(url) : null));
    if (swept > 0) info(`removed the leftovers of ${swept} object(s) an interrupted run had started`);
    const tok = nameTokenizer(u.keys);
    const bytes = files.reduce((a, f) => a + f.size, 0);
    if (tier.quota) {
      const q = await tier.quota();
      info(`estimate: ${files.length} file(s), about ${formatSize(bytes)} to ${tier.url}: no charge within the free quota (${q.free === undefined ? 'unlimited' : formatSize(q.free) + ' free'})`);
      await tier.checkQuota?.(bytes);
    } else info(`estimate: ${files.length} file(s), about ${formatSize(bytes)} to the folder tier ${tier.url}: no cloud charges`);
    const pool = new Pool(Math.max(1, opts.concurrency));
    let failure: unknown = null;
    let done = 0;
    try {
      for (const f of files) {
        if (signal?.aborted) break;
        await pool.add(async () => {
          const obj = await stagingObject(db, u, local, f, onProgress);
          if (!obj) {
            result.skipped++;
            return;
          }
          const key = driveKey(tok, f.rootPath, f.relPath);
          const st = await tier.put(key, cipherStream(local, obj) as never, { size: obj.cipherSize, sha256: obj.cipherSha256.toString('hex'), modifiedAt: new Date(f.mtimeMs), quotaChecked: true, signal });
          recordPlacement(db, { fileId: f.id, tierUrl: tier.url, key, remoteId: st.id, size: st.size, sha256: obj.cipherSha256 });
          result.uploaded++;
          onProgress({ job: JOB, level: 'debug', item: f.path, doneItems: ++done, totalItems: files.length, message: `${f.path} -> ${tier.url}/${key}` });
        });
      }
    } catch (e) {
      failure = e;
    }
    // Nothing may still run once the job returns (the caller closes the catalog): wait for all.
    await pool.drain().catch((e: unknown) => (failure ??= e));
    if (signal?.aborted) throw signal.reason;
    if (failure) throw failure;
  }
  result.requests = tier.requests ? Object.fromEntries(tier.requests) : {};
  return result;
}
