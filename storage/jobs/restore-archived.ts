/**
 * Restoring a volume from the archive tier (`restore aws`): for a cold copy (Glacier), the
 * restore's cost and time first, then the restore request (and with `wait` the polling until it is
 * readable); then ranged parallel reads, decrypted and verified against the catalog's SHA-256
 * before the file is placed.
 */
import { createHash } from 'node:crypto';
import type { Db } from '../catalog/db.js';
import { restoreEstimate, usd } from '../cost/estimate.js';
import type { PriceTable } from '../cost/prices.js';
import { objectForVolume } from '../objects/catalog.js';
import { decryptObject } from '../objects/reader.js';
import { archivableVolume } from '../placements/archived-volumes.js';
import { volumePlacements } from '../placements/placements.js';
import { ConcatTier } from '../tiers/object-copy.js';
import type { Tier } from '../tiers/tier.js';
import { formatSize } from '../util/units.js';
import { JobError, noProgress, type ProgressFn } from './job.js';
import { atomicWrite, checkOutput } from './restore-output.js';
import type { UnlockKeys } from './unlock.js';

const JOB = 'restore aws';

export interface RestoreArchivedOptions {
  /** The volume's name (list iso). */
  volume: string;
  /** Output file: must not exist; its folder must. */
  out: string;
  /** Retrieval tier to request for a cold copy; none: only show what each would cost. */
  retrieval?: 'Bulk' | 'Standard';
  /** Days the restored copy stays readable. */
  days: number;
  /** Poll until a requested restore is done, every `pollSeconds`. */
  wait: boolean;
  pollSeconds: number;
  /** Ranged reads in flight. */
  concurrency: number;
  /** Prices for the restore estimate (read only when a restore is needed). */
  prices: () => PriceTable;
  signal?: AbortSignal;
}

export type RestoreArchivedResult =
  /** The copy is cold and no retrieval tier was given: the estimate was reported, nothing requested. */
  | { status: 'needs-restore'; volume: string; storageClass: string }
  /** The restore runs (requested now or before): run again later, or wait. */
  | { status: 'restore-pending'; volume: string }
  | { status: 'restored'; volume: string; size: number; sha256: Buffer; requests?: number };

async function waitForRestore(tier: Tier, key: string, opts: RestoreArchivedOptions, onProgress: ProgressFn): Promise<boolean> {
  const { signal } = opts;
  for (;;) {
    const st = await tier.head(key);
    if (!st) throw new JobError(`${key} is no longer in ${tier.url}`, 'storage');
    if (!st.restore?.needed) return true;
    if (!opts.wait) return false;
    onProgress({ job: JOB, level: 'info', item: key, message: `${key}: restore in progress; checking again in ${opts.pollSeconds} s` });
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(resolve, opts.pollSeconds * 1000);
      signal?.addEventListener('abort', () => (clearTimeout(t), reject(signal.reason)), { once: true });
    });
  }
}

export async function restoreArchived(db: Db, tier: Tier, opts: RestoreArchivedOptions, unlock: UnlockKeys, onProgress: ProgressFn = noProgress): Promise<RestoreArchivedResult> {
  const info = (message: string) => onProgress({ job: JOB, level: 'info', item: opts.volume, message });
  const out = checkOutput(opts.out);
  const vol = archivableVolume(db, opts.volume);
  if (!vol) throw new JobError(`no volume named "${opts.volume}" in the catalog: see lomo-peer list iso`, 'input');
  const pl = volumePlacements(db, vol.id, '').find((p) => p.tierUrl === tier.url && !p.key.endsWith('.manifest'));
  if (!pl) throw new JobError(`${vol.name} has no copy in ${tier.url}: upload it first (upload iso), or pass the right --awsBucketName`, 'input');
  const rec = objectForVolume(db, vol.id);
  const encrypted = !!rec && !!pl.sha256 && pl.sha256.equals(rec.cipherSha256);
  const st = await tier.head(pl.key);
  if (!st) throw new JobError(`${pl.key} is missing from ${tier.url} although the catalog has it: run a cloud check`, 'corrupt');
  if (tier.requestRestore && st.restore?.needed) {
    const p = opts.prices();
    const cls = st.storageClass ?? 'DEEP_ARCHIVE';
    if (!st.restore.ongoing) {
      const gets = Math.ceil(st.size / (rec?.chunks[0]?.size || 16 * 1024 * 1024));
      for (const t of ['Bulk', 'Standard'] as const) {
        const e = restoreEstimate(p, cls, t, st.size, 1, gets);
        info(`restore ${t}: ready within ~${e.hours} h, about ${usd(e.total)} (retrieval ${usd(e.retrieval)}, requests ${usd(e.requests)}, egress ${usd(e.egress)}) for ${formatSize(st.size)}`);
      }
      if (!opts.retrieval) return { status: 'needs-restore', volume: vol.name, storageClass: cls };
      await tier.requestRestore(pl.key, { days: opts.days, tier: opts.retrieval });
      info(`restore requested (${opts.retrieval}, readable for ${opts.days} days)`);
    }
    if (!(await waitForRestore(tier, pl.key, opts, onProgress))) return { status: 'restore-pending', volume: vol.name };
  }
  const sha = await atomicWrite(
    out,
    async (w) => {
      if (encrypted) {
        const u = await unlock();
        return decryptObject({ sodium: u.sodium, keys: u.keys, tier: new ConcatTier(tier, pl.key, rec!, opts.concurrency) }, rec!, w);
      }
      const h = createHash('sha256');
      for await (const c of tier.getParallel ? tier.getParallel(pl.key, st.size, { concurrency: opts.concurrency }) : await tier.get(pl.key)) {
        h.update(c as Buffer);
        if (!w.write(c)) await new Promise<void>((r) => w.once('drain', () => r()));
      }
      return h.digest();
    },
    vol.sha256,
  );
  return { status: 'restored', volume: vol.name, size: vol.size, sha256: sha, requests: tier.requestCount?.() };
}
