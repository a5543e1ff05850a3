/**
 * Names on Drive. lomob mirrors the library tree (top folder / scan-root name / folders / file);
 * lomo-peer keeps that shape but never shows a cloud a real name (docs/tiers.md): every path
 * segment becomes a keyed hash token, deterministic so that the same folder is the same Drive
 * folder on every run and a changed file replaces its earlier copy. `list gdrive` and `restore
 * gdrive` map tokens back through the catalog (placements hold the key of every copy).
 */
import { createHmac } from 'node:crypto';
import type { SiteKeys } from '../crypto/keys.js';
import { rootFolderName } from '../iso/plan.js';

/** A fixed "object id" selecting the name-token key from the site's catalog key domain. */
const NAME_KEY_ID = Buffer.from('lomo-drive-names', 'latin1'); // 16 bytes

export type NameTokenizer = (segment: string) => string;

export function nameTokenizer(keys: SiteKeys): NameTokenizer {
  const k = Buffer.from(keys.objectKey('catalog', NAME_KEY_ID));
  // 120 bits of HMAC, base32-ish lowercase: collision-free for any real library, safe as a Drive name.
  return (seg) => createHmac('sha256', k).update(Buffer.from(seg, 'latin1')).digest('hex').slice(0, 30);
}

/** Segments of a library file as lomob mirrors it: scan-root folder name, folders, file name. */
export function mirrorSegments(rootPath: string, relPath: string): string[] {
  return [rootFolderName(rootPath), ...relPath.split('/').filter(Boolean)];
}

export function driveKey(tok: NameTokenizer, rootPath: string, relPath: string): string {
  return mirrorSegments(rootPath, relPath).map(tok).join('/');
}
