/**
 * Restoring one staged file (`restore gdrive`): its copy on the staging tier, found by library
 * path or by key, decrypted and verified against the scan's SHA-256 before it is placed.
 */
import path from 'node:path';
import type { Db } from '../catalog/db.js';
import { objectForFile } from '../objects/catalog.js';
import { decryptObject } from '../objects/reader.js';
import { stagedCopies } from '../placements/staged-copies.js';
import { ConcatTier } from '../tiers/object-copy.js';
import { TierError, type ByteRange, type Tier } from '../tiers/tier.js';
import { JobError } from './job.js';
import { atomicWrite, checkOutput } from './restore-output.js';
import type { UnlockKeys } from './unlock.js';

export interface RestoreStagedOptions {
  /** The file's library path (as list files / list gdrive show it; relative to the working folder), or its key on the tier. */
  file: string;
  /** Output file: must not exist; its folder must. */
  out: string;
}

export interface RestoreStagedResult {
  /** The library path restored (latin1 byte string). */
  path: string;
  plainSize: number;
}

/** A Tier view of one copy read by its remote id (Drive addresses files by id), for ConcatTier. */
function byId(tier: Tier, key: string, id: string): Tier {
  return { kind: 'one', url: `${tier.url}/${key}`, get: (_k: string, r?: ByteRange) => tier.getById!(id, r) } as unknown as Tier;
}

export async function restoreStaged(db: Db, tier: Tier, opts: RestoreStagedOptions, unlock: UnlockKeys): Promise<RestoreStagedResult> {
  const out = checkOutput(opts.out);
  const want = Buffer.from(opts.file).toString('latin1');
  const copy = stagedCopies(db, tier.url).find((c) => c.path === want || c.path === path.resolve(opts.file) || c.placement.key === opts.file);
  if (!copy) throw new JobError(`${opts.file} has no copy on ${tier.url}: see lomo-peer list gdrive`, 'input');
  const rec = objectForFile(db, copy.placement.fileId!);
  if (!rec || !copy.placement.sha256 || !rec.cipherSha256.equals(copy.placement.sha256)) {
    throw new JobError(`the catalog has no encryption record matching the Drive copy of ${opts.file}`, 'corrupt');
  }
  const u = await unlock();
  let inner: Tier = tier;
  if (tier.getById) {
    const id = copy.placement.remoteId ?? (await tier.head(copy.placement.key))?.id;
    if (!id) throw new TierError(`${copy.placement.key} is missing from ${tier.url}`, 'not-found');
    inner = byId(tier, copy.placement.key, id);
  }
  await atomicWrite(out, (w) => decryptObject({ sodium: u.sodium, keys: u.keys, tier: new ConcatTier(inner, copy.placement.key, rec, 3) }, rec, w), copy.sha256);
  return { path: copy.path, plainSize: rec.plainSize };
}
