import fs from 'node:fs';
import { pipeline } from 'node:stream/promises';
import type { Db } from '../catalog/db.js';
import type { SiteKeys } from '../crypto/keys.js';
import type { Sodium } from '../crypto/sodium.js';
import type { Tier } from '../tiers/tier.js';
import { saveObject } from './catalog.js';
import { markPending } from './pending.js';
import { ObjectWriter, type ObjectRecord } from './writer.js';

/**
 * Staging files (library files not yet in a volume) as encrypted objects of kind `file`, same
 * format as volumes. The upload commands call this and push the chunks to Drive or peers; restore
 * finds the object through `objects.file_id`.
 */
export class StagingChangedError extends Error {
  override name = 'StagingChangedError';
}

export interface StagingFile {
  fileId: number;
  /** Where to read it (bytes path, as the scanner stores it). */
  path: string | Buffer;
  size: number;
  /** SHA-256 from the scan; the object is not recorded if the bytes read differ. */
  sha256: Buffer | null;
}

/** Small files are encrypted on the calling thread; starting workers would cost more. */
const WORKERS_FROM = 32 * 1024 * 1024;

export async function encryptStagingFile(db: Db, c: { sodium: Sodium; keys: SiteKeys; tier: Tier }, f: StagingFile): Promise<ObjectRecord> {
  const w = new ObjectWriter({ ...c, kind: 'file', maxPlainSize: f.size, workers: f.size >= WORKERS_FROM ? 2 : 0, onStart: (id) => markPending(db, id, c.tier.url) });
  await pipeline(fs.createReadStream(f.path, { highWaterMark: 1 << 20 }), w);
  const rec = await w.result;
  if (rec.plainSize !== f.size || (f.sha256 && !rec.plainSha256.equals(f.sha256))) {
    // The chunks are in the tier but unreferenced; the object stays pending and the next writer's
    // sweep (pending.ts) removes them once this process has ended.
    throw new StagingChangedError(`${f.path.toString()} changed since it was scanned; run scan again`);
  }
  saveObject(db, rec, { fileId: f.fileId });
  return rec;
}
