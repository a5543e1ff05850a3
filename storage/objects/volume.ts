import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Db } from '../catalog/db.js';
import type { SiteKeys } from '../crypto/keys.js';
import type { Sodium } from '../crypto/sodium.js';
import type { Tier } from '../tiers/tier.js';
import { saveObject } from './catalog.js';
import { manifestFilesFor, MANIFEST_VERSION, objectSummary, writeManifest, type VolumeManifest } from './manifest.js';
import { markPending } from './pending.js';
import { ObjectWriter, type ObjectRecord } from './writer.js';

/**
 * Volumes as encrypted objects: the ISO writer's stream goes straight into an ObjectWriter (no
 * plaintext temporary file), and once the volume is registered its manifest is stored as a second,
 * small object. Used by `iso create` (node/commands/iso.ts).
 */
export interface VolumeCrypto {
  sodium: Sodium;
  keys: SiteKeys;
  tier: Tier;
  siteId: string;
}

/**
 * Encrypts an image of `size` bytes into the tier; resolves with the object record. With the ISO
 * writer's cursor the image is produced straight into the encryption buffers; any other source is
 * read as a stream.
 */
export async function encryptVolume(
  c: VolumeCrypto,
  image: { stream: Readable; size: number; cursor?: { fill(buf: Buffer): Promise<number>; fillSync?(buf: Buffer): number; close(): Promise<void> } },
  signal?: AbortSignal,
  onProgress?: (plainBytes: number) => void,
  onStart?: (objectId: Buffer) => void,
): Promise<ObjectRecord> {
  let stored = 0;
  const w: ObjectWriter = new ObjectWriter({
    sodium: c.sodium,
    keys: c.keys,
    tier: c.tier,
    kind: 'volume',
    maxPlainSize: image.size,
    onStart,
    // Stores may finish out of order: count them (all chunks but the last are full).
    onChunk: onProgress && (() => onProgress(Math.min(image.size, ++stored * w.chunkPlain))),
  });
  let rec: ObjectRecord;
  if (image.cursor) {
    const cursor = image.cursor;
    try {
      rec = cursor.fillSync ? await w.pullFromSync((buf) => cursor.fillSync!(buf), signal) : await w.pullFrom((buf) => cursor.fill(buf), signal);
    } finally {
      await cursor.close();
    }
  } else {
    await pipeline(image.stream, w, { signal });
    rec = await w.result;
  }
  if (rec.plainSize !== image.size) throw new Error(`image came out at ${rec.plainSize} bytes, expected ${image.size}`);
  return rec;
}

/**
 * Stores the volume's manifest, then records the volume, its object and the manifest object in one
 * transaction: `register(createdAt)` inserts the volume and its file rows and returns the volume
 * id. The manifest goes first so that a crash at any point leaves either no volume (and objects
 * nothing refers to, which a re-run replaces) or a volume with its manifest — never one without.
 */
export async function sealEncryptedVolume(
  db: Db,
  c: VolumeCrypto,
  rec: ObjectRecord,
  v: { name: string; size: number; files: { fileId: number; isoPath: string; offset: number; length: number }[] },
  register: (createdAt: number) => number,
): Promise<number> {
  const createdAt = Date.now();
  const manifest: VolumeManifest = {
    manifestVersion: MANIFEST_VERSION,
    siteId: c.siteId,
    volume: { name: v.name, size: v.size, sha256: rec.plainSha256.toString('hex'), createdAt },
    object: objectSummary(rec),
    files: manifestFilesFor(db, v.files),
  };
  const m = await writeManifest({ sodium: c.sodium, keys: c.keys, tier: c.tier, onStart: (id) => markPending(db, id, c.tier.url) }, manifest);
  return db.transaction(() => {
    const id = register(createdAt);
    saveObject(db, rec, { volumeId: id });
    saveObject(db, m, { volumeId: id });
    return id;
  })();
}
