/**
 * Restoring a volume from the archive tier (`restore aws`): for a cold copy (Glacier), the
 * restore's cost and time first, then the restore request (and with `wait` the polling until it is
 * readable); then ranged parallel reads, decrypted and verified against the catalog's SHA-256
 * before the file is placed.
 *
 * The passphrase is checked before the first request: a wrong one costs nothing (no HEAD, no
 * billed RestoreObject, no GET). The download resumes after a kill (restore-partial.ts).
 */
import type { Db } from '../catalog/db.js';
import { restoreEstimate, usd } from '../cost/estimate.js';
import type { PriceTable } from '../cost/prices.js';
import { objectForVolume } from '../objects/catalog.js';
import { decryptChunk } from '../objects/chunk-codec.js';
import { fetchChunk } from '../objects/reader.js';
import type { StoredObject } from '../objects/catalog.js';
import { chunkPlainSize } from '../objects/format.js';
import { archivableVolume } from '../placements/archived-volumes.js';
import { volumePlacements } from '../placements/placements.js';
import { ConcatTier } from '../tiers/object-copy.js';
import { TierError, type ObjectStat, type Tier } from '../tiers/tier.js';
import { formatSize } from '../util/units.js';
import { JobError, noProgress, type ProgressFn } from './job.js';
import { checkOutput } from './restore-output.js';
import { resumableWrite, type Segments } from './restore-partial.js';
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
  | { status: 'restored'; volume: string; size: number; sha256: Buffer; requests?: number; resumedBytes: number };

/** Plain volumes are read in ranges of this size (encrypted ones chunk by chunk). */
const RANGE = 16 * 1024 * 1024;

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

/**
 * The archive copy's metadata. HEAD answers carry no body, so a missing bucket and a missing key
 * are the same bare 404; a listing of the key (one request, only on this error path) tells them
 * apart, and each gets its own way out.
 */
async function headOrExplain(tier: Tier, key: string, volume: string): Promise<ObjectStat> {
  const st = await tier.head(key);
  if (st) return st;
  try {
    for await (const _ of tier.list(key)) break;
  } catch (e) {
    if (e instanceof TierError && e.kind === 'not-found') {
      throw new JobError(
        `${tier.url}: the bucket does not exist (NoSuchBucket) for these credentials and endpoint, although the catalog records ${volume} there: check --awsBucketName, --awsBucketRegion, --awsEndpoint and the account of the key (lomo-peer list iso shows each volume's bucket and region)`,
        'storage',
        e,
      );
    }
    throw e;
  }
  throw new JobError(
    `${key} is not in ${tier.url} (NoSuchKey), although the catalog records ${volume} there: it was deleted or moved. If this site still has the volume's local object, \`lomo-peer restore volume ${volume} --to <folder>\` restores it from there, and \`lomo-peer upload iso ${volume} --force\` sends it to the bucket again`,
    'corrupt',
  );
}

/** An encrypted volume's segments: its chunks, each verified against the catalog's SHA-256, then decrypted. */
function encryptedSegments(tier: Tier, key: string, rec: StoredObject, keys: Awaited<ReturnType<UnlockKeys>>, concurrency: number): Segments {
  const view = new ConcatTier(tier, key, rec, concurrency);
  const n = rec.chunks.length;
  return {
    identity: `object ${rec.objectId.toString('hex')} ${rec.plainSize} ${rec.plainSha256.toString('hex')}`,
    sizes: rec.chunks.map((c) => chunkPlainSize(c.index, rec.plainSize, rec.chunkPlain)),
    fetch: async (i) => decryptChunk(keys.sodium, keys.keys, await fetchChunk(view, rec, i), { kind: rec.kind, objectId: rec.objectId, index: i, last: i === n - 1 }),
  };
}

/** A plain volume's segments: ranges of the object (the whole is checked against the catalog's SHA-256 at the end). */
function plainSegments(tier: Tier, key: string, st: ObjectStat, identity: string, concurrency: number): Segments {
  const chunks = Array.from({ length: Math.ceil(st.size / RANGE) }, (_, index) => ({ index, size: Math.min(RANGE, st.size - index * RANGE) }));
  const view = new ConcatTier(tier, key, { objectId: Buffer.alloc(1), cipherSize: st.size, chunks }, concurrency);
  return {
    identity,
    sizes: chunks.map((c) => c.size),
    fetch: async (i) => {
      const parts: Buffer[] = [];
      for await (const c of await view.get(`00/${i}`)) parts.push(c as Buffer);
      return Buffer.concat(parts);
    },
  };
}

export async function restoreArchived(db: Db, tier: Tier, opts: RestoreArchivedOptions, unlock: UnlockKeys, onProgress: ProgressFn = noProgress): Promise<RestoreArchivedResult> {
  const info = (message: string) => onProgress({ job: JOB, level: 'info', item: opts.volume, message });
  const out = checkOutput(opts.out);
  const vol = archivableVolume(db, opts.volume);
  if (!vol) throw new JobError(`no volume named "${opts.volume}" in the catalog: see lomo-peer list iso`, 'input');
  const pl = volumePlacements(db, vol.id, '').find((p) => p.tierUrl === tier.url && !p.key.endsWith('.manifest'));
  if (!pl) throw new JobError(`${vol.name} has no copy in ${tier.url}: upload it first (upload iso), or pass the right --awsBucketName`, 'input');
  const rec = objectForVolume(db, vol.id);
  const encrypted = rec && pl.sha256 && pl.sha256.equals(rec.cipherSha256) ? rec : null;
  // Before any request: every request is billed, a restore request most of all.
  const keys = encrypted ? await unlock() : null;
  const st = await headOrExplain(tier, pl.key, vol.name);
  if (tier.requestRestore && st.restore?.needed) {
    const p = opts.prices();
    const cls = st.storageClass ?? 'DEEP_ARCHIVE';
    if (!st.restore.ongoing) {
      const gets = Math.ceil(st.size / (rec?.chunks[0]?.size || RANGE));
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
  const segs = encrypted && keys
    ? encryptedSegments(tier, pl.key, encrypted, keys, opts.concurrency)
    : plainSegments(tier, pl.key, st, `plain ${pl.key} ${st.size} ${vol.sha256?.toString('hex') ?? st.id ?? ''}`, opts.concurrency);
  const w = await resumableWrite(out, segs, [vol.sha256, encrypted?.plainSha256], opts.signal);
  if (w.resumedBytes) info(`resumed: ${formatSize(w.resumedBytes)} were on disk already and verified`);
  return { status: 'restored', volume: vol.name, size: vol.size, sha256: w.sha256, requests: tier.requestCount?.(), resumedBytes: w.resumedBytes };
}
