import type { PeerStore } from './store.js';

/**
 * The holder scrub (issue 15, point 2: "a holder that finds a stored chunk no longer matches its
 * hash does not serve it and reports it"). `get` checks a whole chunk when it serves it; chunks
 * nobody asks for would rot unseen, so the node re-hashes them in the background: each chunk at
 * most once per `everyMs` (default 7 days), least recently checked first, a small batch per call
 * under a time budget, so the scrub never keeps the disk busy for long. A bad chunk is quarantined
 * by the store (its owner's next `get` is answered `corrupt`, `has` is false, so the owner
 * re-replicates it) and returned here for the node to log and count.
 */

export const SCRUB_EVERY_MS = 7 * 24 * 3600_000;
/** Time after which a call starts no further chunk (a 64 MiB chunk may run past it by its read). */
export const SCRUB_BUDGET_MS = 2_000;
/** Chunks looked at per call at most. */
export const SCRUB_BATCH = 64;

export interface ScrubOptions {
  everyMs?: number;
  budgetMs?: number;
  maxChunks?: number;
  /** The clock (tests). */
  now?: () => number;
}

export interface ScrubResult {
  /** Chunks re-hashed and found intact. */
  checked: number;
  /** Bytes read (intact and corrupt chunks). */
  bytes: number;
  /** Chunks that no longer matched their hash: quarantined. */
  corrupt: { owner: string; sha256: string; size: number }[];
  /** Chunks dropped or moved while the scrub ran, or whose file was missing. */
  gone: number;
  /** Whether chunks are still due after this call (the budget or the batch ran out). */
  more: boolean;
}

/** One batch of the scrub: re-hashes chunks due for a check until the budget or the batch is spent. */
export async function scrubHosted(store: PeerStore, opts: ScrubOptions = {}): Promise<ScrubResult> {
  const now = opts.now ?? Date.now;
  const start = now();
  const budget = opts.budgetMs ?? SCRUB_BUDGET_MS;
  const limit = opts.maxChunks ?? SCRUB_BATCH;
  const due = store.dueForCheck(start - (opts.everyMs ?? SCRUB_EVERY_MS), limit + 1);
  const result: ScrubResult = { checked: 0, bytes: 0, corrupt: [], gone: 0, more: false };
  let i = 0;
  for (; i < Math.min(due.length, limit); i++) {
    const t = now();
    if (t - start >= budget) break;
    const c = due[i]!;
    const sha256 = c.sha256.toString('hex');
    const found = await store.verify(c.owner, sha256, t);
    if (found === 'gone') {
      result.gone++;
      continue;
    }
    result.bytes += c.size;
    if (found === 'ok') result.checked++;
    else result.corrupt.push({ owner: c.owner, sha256, size: c.size });
  }
  result.more = i < due.length;
  return result;
}
