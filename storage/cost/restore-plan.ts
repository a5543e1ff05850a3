/**
 * What getting every volume back costs, as `restore aws` does it for each volume
 * (node/commands/restore-cloud.ts): HeadObject; for an archived volume a RestoreObject at the chosen
 * tier, then HeadObject polls (--wait, every --poll seconds) until the temporary copy is readable;
 * then the ranged GETs — one per ciphertext chunk of an encrypted volume, 16 MiB ranges of a plain
 * one — and the bytes leave AWS (egress). Manifests are not read: the catalog holds their content.
 *
 * Per storage class actually recorded for each volume; volumes not uploaded yet are counted at the
 * class planned for them (and marked `pending`), since a full-restore estimate is a plan too.
 */
import { classPrice, type PriceTable } from './prices.js';
import { GB } from './storage-bill.js';

/** `restore aws` defaults: --days (the restored copy's life) and --poll (seconds between checks). */
export const RESTORE_DAYS = 3;
export const RESTORE_POLL_SECONDS = 900;
/** Range size of the plain (unencrypted) volume download (S3Tier.getParallel's default). */
export const PLAIN_RANGE = 16 * 1024 * 1024;

export type RestoreTier = 'Standard' | 'Bulk';

export interface VolumeToRestore {
  name?: string;
  /** Class recorded for its S3 copy, or the class planned for a volume not uploaded yet. */
  storageClass: string;
  pending: boolean;
  /** Bytes stored (and so retrieved and downloaded). */
  bytes: number;
  /** GetObject requests `restore aws` sends for it (restoreGets). */
  gets: number;
}

/** GETs of one volume's download: one per chunk when encrypted, else one per 16 MiB range. */
export function restoreGets(bytes: number, chunkCount?: number): number {
  return chunkCount ?? Math.ceil(bytes / PLAIN_RANGE);
}

export interface RestoreGroup {
  storageClass: string;
  pending: boolean;
  volumes: number;
  bytes: number;
  /** $ per GB retrieved, on whole objects (0 for classes read without a restore). */
  retrieval: number;
  /** RestoreObject requests and their fee. */
  restoreRequests: number;
  restoreRequestCost: number;
  /** The temporary restored copy, billed at S3 Standard's storage price for `days`. */
  restoredCopy: number;
  getRequests: number;
  headRequests: number;
  /** GETs and HEADs at the class's GET price. */
  getCost: number;
  hours: number;
}

export interface FullRestoreEstimate {
  tier: RestoreTier;
  days: number;
  volumes: number;
  bytes: number;
  groups: RestoreGroup[];
  retrieval: number;
  /** Restore-request fees + GET/HEAD requests. */
  requests: number;
  restoredCopy: number;
  /** GB leaving AWS, the free allowance deducted from them, and the charge for the rest. */
  egressGB: number;
  egressFreeGB: number;
  egress: number;
  total: number;
  /** Waiting time of the slowest class (0 when nothing needs a restore). */
  hours: number;
}

/** Everything back, restored at `tier` and readable for `days` (see the module comment). */
export function fullRestore(p: PriceTable, tier: RestoreTier, vols: VolumeToRestore[], opts: { days?: number; pollSeconds?: number } = {}): FullRestoreEstimate {
  const days = opts.days ?? RESTORE_DAYS;
  const poll = opts.pollSeconds ?? RESTORE_POLL_SECONDS;
  const std = classPrice(p, 'STANDARD');
  const groups = new Map<string, RestoreGroup>();
  for (const v of vols) {
    const c = classPrice(p, v.storageClass);
    const r = c.retrieval?.[tier];
    const k = `${v.storageClass}\0${v.pending}`;
    let g = groups.get(k);
    if (!g) {
      g = { storageClass: v.storageClass, pending: v.pending, volumes: 0, bytes: 0, retrieval: 0, restoreRequests: 0, restoreRequestCost: 0, restoredCopy: 0, getRequests: 0, headRequests: 0, getCost: 0, hours: r?.hours ?? 0 };
      groups.set(k, g);
    }
    g.volumes++;
    g.bytes += v.bytes;
    g.getRequests += v.gets;
    if (c.retrieval) {
      // Archived: HeadObject, RestoreObject, one HeadObject per poll while waiting, the last one ready.
      g.headRequests += 2 + Math.floor(((r?.hours ?? 0) * 3600) / poll);
      g.restoreRequests++;
      g.retrieval += r ? (v.bytes / GB) * r.perGB : 0;
      g.restoreRequestCost += r ? r.per1000 / 1000 : 0;
      g.restoredCopy += (v.bytes / GB) * std.storage * (days / 30);
    } else g.headRequests += 1;
  }
  for (const g of groups.values()) g.getCost = ((g.getRequests + g.headRequests) / 1000) * classPrice(p, g.storageClass).get;
  const list = [...groups.values()];
  const sum = (f: (g: RestoreGroup) => number) => list.reduce((a, g) => a + f(g), 0);
  const bytes = sum((g) => g.bytes);
  const egressGB = bytes / GB;
  const egress = Math.max(0, egressGB - p.egressFreeGB) * p.egressPerGB;
  const retrieval = sum((g) => g.retrieval);
  const requests = sum((g) => g.restoreRequestCost + g.getCost);
  const restoredCopy = sum((g) => g.restoredCopy);
  return {
    tier,
    days,
    volumes: vols.length,
    bytes,
    groups: list,
    retrieval,
    requests,
    restoredCopy,
    egressGB,
    egressFreeGB: p.egressFreeGB,
    egress,
    total: retrieval + requests + restoredCopy + egress,
    hours: Math.max(0, ...list.map((g) => (g.restoreRequests ? g.hours : 0))),
  };
}
