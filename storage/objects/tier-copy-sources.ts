/**
 * Copies of an object in other tiers — a volume uploaded to S3/Glacier or to a folder tier (a NAS),
 * a staged file on Drive — as chunk sources for a restore's chain (chunk-sources.ts). There an
 * object is ONE stored object, its chunks concatenated, so chunk i is read with one ranged GET
 * (tiers/object-copy.ts ConcatTier) and checked whole against the catalog like a local chunk.
 *
 * A cold copy (Glacier, Deep Archive) is never read here: the restore request costs money and
 * hours, so the source answers with the command that shows the cost and time first
 * (`restore aws`), and the restore's error names it if no other source had the chunk.
 */
import type { Db } from '../catalog/db.js';
import { holdingsOfChunk, isSiteHolder } from '../placements/holdings.js';
import { ConcatTier } from '../tiers/object-copy.js';
import { TierError, type Tier } from '../tiers/tier.js';
import { NotReadableHere, type ChunkSource, type ChunkSourceList, type SourceTier } from './chunk-sources.js';
import { chunkKey } from './format.js';

/** Which bucket of bytesFetched a tier's URL counts in: folders are free and local, like the object folder. */
export function tierKindOf(url: string): SourceTier {
  if (url.startsWith('s3:')) return 's3';
  if (url.startsWith('gdrive:')) return 'gdrive';
  return 'local';
}

/**
 * Opens a tier by the URL its holding records, or says why this site cannot read it (no
 * credentials for it here, another bucket configured...): a string, shown in the error if no
 * source has the chunk.
 */
export type TierOpener = (url: string) => Promise<Tier | string>;

export interface TierCopyOptions {
  /** Only copies in tiers of these kinds (the chain puts free ones before the peers, paid ones after). */
  kinds: SourceTier[];
  /** The local object folder's URL: its chunks are read by its own source. */
  skipUrl?: string;
  /** What to say of a cold copy: the command that restores it with its cost shown first. */
  coldHint: string;
}

async function readAll(tier: Tier, key: string): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of await tier.get(key)) parts.push(c as Buffer);
  return Buffer.concat(parts);
}

/** The tier copies holding chunk `index`, each one source (tiers opened on first use, once per URL). */
export function tierCopySources(db: Db, open: TierOpener, opts: TierCopyOptions): ChunkSourceList {
  const opened = new Map<string, Promise<Tier | string>>();
  const cold = new Map<string, Promise<string | null>>();
  const tierAt = (url: string) => {
    let p = opened.get(url);
    if (!p) opened.set(url, (p = open(url)));
    return p;
  };
  /** Why a copy cannot be read now (cold storage), or null; one HEAD per stored object. */
  const coldness = (tier: Tier, url: string, key: string) => {
    const id = `${url}\n${key}`;
    let p = cold.get(id);
    if (!p) {
      p = tier.requestRestore
        ? tier.head(key).then((st) => (st?.restore?.needed ? `is in ${st.storageClass ?? 'cold storage'} and must be restored first: ${opts.coldHint}` : null))
        : Promise.resolve(null);
      cold.set(id, p);
    }
    return p;
  };
  return (rec, index) => {
    if (rec.row === undefined) return [];
    const out: ChunkSource[] = [];
    for (const h of holdingsOfChunk(db, rec.row, index)) {
      if (isSiteHolder(h.holder) || !h.key) continue;
      const url = h.holder.tierUrl;
      const kind = tierKindOf(url);
      if (url === opts.skipUrl || !opts.kinds.includes(kind)) continue;
      // Another object's bytes under this holding (a plain volume, an older upload): not a copy of this one.
      if (h.chunkIndex === null && h.sha256 && !h.sha256.equals(rec.cipherSha256)) continue;
      const key = h.key;
      out.push({
        name: `${url}/${key}`,
        tier: kind,
        get: async (r, i) => {
          const tier = await tierAt(url);
          if (typeof tier === 'string') throw new NotReadableHere(tier);
          const why = await coldness(tier, url, key);
          if (why) throw new NotReadableHere(why);
          try {
            if (h.chunkIndex !== null) return await readAll(tier, key);
            return await readAll(new ConcatTier(tier, key, r, 0), chunkKey(r.objectId.toString('hex'), i));
          } catch (e) {
            if (e instanceof TierError && e.kind === 'not-found') return null;
            throw e;
          }
        },
      });
    }
    return out;
  };
}
