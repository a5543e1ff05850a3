import type { Db } from '../catalog/db.js';
import type { ReadContext } from './reader.js';
import { readObjectWithoutCatalog } from './reader.js';
import { decodeHeader, type ObjectKind } from './format.js';
import { writeObject, type ObjectRecord, type WriteObjectOptions } from './writer.js';

/**
 * The volume manifest: which library file sits at which bytes of which volume, and the volume
 * object's chunk list, as JSON in an encrypted object of kind `manifest` (catalog key). A site that
 * loses its catalog lists its objects, decrypts the manifests with its passphrase and gets back
 * everything a restore needs. Paths are base64 because library names are bytes, not text.
 */
export const MANIFEST_VERSION = 1;

export interface ManifestFile {
  /** Full library path, base64 of the raw bytes. */
  path: string;
  /** Path inside the image, base64 of the raw bytes. */
  isoPath: string;
  size: number;
  mtimeMs: number;
  sha256: string | null;
  offset: number;
  length: number;
}

export interface VolumeManifest {
  manifestVersion: typeof MANIFEST_VERSION;
  siteId: string;
  volume: { name: string; size: number; sha256: string; createdAt: number };
  object: {
    id: string;
    formatVersion: number;
    messageSize: number;
    chunkPlain: number;
    plainSize: number;
    plainSha256: string;
    cipherSize: number;
    cipherSha256: string;
    chunks: { size: number; sha256: string; merkleRoot: string }[];
  };
  files: ManifestFile[];
}

export function objectSummary(rec: ObjectRecord): VolumeManifest['object'] {
  return {
    id: rec.objectId.toString('hex'),
    formatVersion: rec.formatVersion,
    messageSize: rec.messageSize,
    chunkPlain: rec.chunkPlain,
    plainSize: rec.plainSize,
    plainSha256: rec.plainSha256.toString('hex'),
    cipherSize: rec.cipherSize,
    cipherSha256: rec.cipherSha256.toString('hex'),
    chunks: rec.chunks.map((c) => ({ size: c.size, sha256: c.sha256.toString('hex'), merkleRoot: c.merkleRoot.toString('hex') })),
  };
}

/** The object record a manifest describes (to restore from it without the catalog). */
export function recordFromManifest(m: VolumeManifest): ObjectRecord {
  const o = m.object;
  return {
    objectId: Buffer.from(o.id, 'hex'),
    kind: 'volume',
    formatVersion: o.formatVersion,
    messageSize: o.messageSize,
    chunkPlain: o.chunkPlain,
    plainSize: o.plainSize,
    plainSha256: Buffer.from(o.plainSha256, 'hex'),
    cipherSize: o.cipherSize,
    cipherSha256: Buffer.from(o.cipherSha256, 'hex'),
    chunks: o.chunks.map((c, index) => ({ index, size: c.size, sha256: Buffer.from(c.sha256, 'hex'), merkleRoot: Buffer.from(c.merkleRoot, 'hex') })),
  };
}

/**
 * The manifest's file list for a volume that is not registered yet: the catalog's rows for these
 * file ids plus where each sits in the image (so the manifest can be stored before the catalog
 * transaction that registers the volume, and a crash between the two leaves no volume without one).
 */
export function manifestFilesFor(db: Db, files: { fileId: number; isoPath: string; offset: number; length: number }[]): ManifestFile[] {
  const q = db.prepare(
    `SELECT r.path AS root, d.rel_path, f.name, f.size, f.mtime_ms, f.sha256
     FROM files f JOIN dirs d ON d.id = f.dir_id JOIN scan_roots r ON r.id = d.root_id WHERE f.id = ?`,
  );
  return [...files]
    .sort((a, b) => a.offset - b.offset)
    .map((v) => {
      const r = q.get(v.fileId) as { root: Buffer; rel_path: Buffer; name: Buffer; size: number; mtime_ms: number; sha256: Buffer | null } | undefined;
      if (!r) throw new Error(`file ${v.fileId} is not in the catalog`);
      return {
        path: libraryPath(r.root, r.rel_path, r.name).toString('base64'),
        isoPath: Buffer.from(v.isoPath, 'latin1').toString('base64'),
        size: r.size,
        mtimeMs: r.mtime_ms,
        sha256: r.sha256 ? r.sha256.toString('hex') : null,
        offset: v.offset,
        length: v.length,
      };
    });
}

/** root + '/' + rel + '/' + name, as bytes (rel is '' for files directly under the root). */
export function libraryPath(root: Buffer, rel: Buffer, name: Buffer): Buffer {
  const sep = Buffer.from('/');
  const parts = [root.at(-1) === 0x2f ? root.subarray(0, -1) : root];
  if (rel.length > 0) parts.push(sep, rel);
  parts.push(sep, name);
  return Buffer.concat(parts);
}

export async function writeManifest(o: Omit<WriteObjectOptions, 'kind'>, m: VolumeManifest): Promise<ObjectRecord> {
  return writeObject({ ...o, kind: 'manifest', workers: 0 }, Buffer.from(JSON.stringify(m)));
}

/** Kind of each object in the tier, read from its first chunk's header (no key needed). */
export async function listObjects(ctx: ReadContext): Promise<{ id: string; kind: ObjectKind }[]> {
  const ids = new Set<string>();
  for await (const s of ctx.tier.list()) {
    const m = /^([0-9a-f]{32})\/00000$/.exec(s.key);
    if (m) ids.add(m[1]!);
  }
  const out: { id: string; kind: ObjectKind }[] = [];
  for (const id of ids) {
    const first: Buffer[] = [];
    for await (const c of await ctx.tier.get(`${id}/00000`, { start: 0, end: 63 })) first.push(c as Buffer);
    try {
      out.push({ id, kind: decodeHeader(Buffer.concat(first)).kind });
    } catch {
      // not an object of ours; skipped
    }
  }
  return out;
}

/** Every volume manifest in the tier, decrypted and authenticated: the catalog-free view of the site. */
export async function recoverManifests(ctx: ReadContext): Promise<VolumeManifest[]> {
  const out: VolumeManifest[] = [];
  for (const o of await listObjects(ctx)) {
    if (o.kind !== 'manifest') continue;
    out.push(JSON.parse((await readObjectWithoutCatalog(ctx, o.id, 'manifest')).toString('utf8')) as VolumeManifest);
  }
  return out.sort((a, b) => a.volume.createdAt - b.volume.createdAt);
}
