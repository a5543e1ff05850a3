/**
 * The staging tier's tree as the library names it (`list gdrive`). The tier holds name tokens only
 * (storage/naming/drive-names.ts); the catalog's placements turn them back into the library's
 * names. Entries the catalog does not know keep their token.
 */
import type { Db } from '../catalog/db.js';
import { mirrorSegments } from '../naming/drive-names.js';
import { stagedCopies } from '../placements/staged-copies.js';
import type { Tier, TreeEntry } from '../tiers/tier.js';

export interface StagedEntry {
  /** Path segments, in the library's names where the catalog knows them. */
  path: string[];
  isFolder: boolean;
  /** The file's own size where known (the tier holds the slightly larger ciphertext). */
  size: number;
  mtimeMs?: number;
  /** Hex plaintext SHA-256, from the catalog. */
  plain?: string;
  /** Hex ciphertext SHA-256, from the tier or the catalog. */
  cipher?: string;
}

/** A folder tier has no folder objects: folders are the key prefixes of its files. */
async function* prefixWalk(tier: Tier): AsyncIterable<TreeEntry> {
  const seen = new Set<string>();
  for await (const o of tier.list('')) {
    const segs = o.key.split('/');
    for (let i = 1; i < segs.length; i++) {
      const dir = segs.slice(0, i).join('/');
      if (!seen.has(dir)) {
        seen.add(dir);
        yield { path: dir, id: dir, isFolder: true, size: 0 };
      }
    }
    yield { path: o.key, id: o.key, isFolder: false, size: o.size, modifiedAt: o.modifiedAt, sha256: o.sha256 };
  }
}

export async function listStaged(db: Db, tier: Tier): Promise<StagedEntry[]> {
  const names = new Map<string, string>(); // token path -> plaintext segment
  const plain = new Map<string, { sha?: string; size: number; mtimeMs: number; cipher?: string }>();
  for (const c of stagedCopies(db, tier.url)) {
    const toks = c.placement.key.split('/');
    const segs = mirrorSegments(c.rootPath, c.relPath);
    if (toks.length !== segs.length) continue;
    toks.forEach((_, i) => names.set(toks.slice(0, i + 1).join('/'), segs[i]!));
    plain.set(c.placement.key, { sha: c.sha256?.toString('hex'), size: c.size, mtimeMs: c.mtimeMs, cipher: c.placement.sha256?.toString('hex') });
  }
  const rows: StagedEntry[] = [];
  for await (const e of tier.walk ? tier.walk() : prefixWalk(tier)) {
    const toks = e.path.split('/');
    const shown = toks.map((t, i) => names.get(toks.slice(0, i + 1).join('/')) ?? t);
    const known = plain.get(e.path);
    rows.push({ path: shown, isFolder: e.isFolder, size: known?.size ?? e.size, mtimeMs: known?.mtimeMs ?? e.modifiedAt?.getTime(), plain: known?.sha, cipher: e.sha256 ?? known?.cipher });
  }
  return rows;
}
