/**
 * The pack job (`iso create`): groups the staging files into volumes and writes each one, either
 * encrypted on the fly into the site's object store (docs/crypto-format.md) or as a plain ISO file
 * into a store folder, and records it in the catalog once it is complete. The image is produced by
 * storage/iso (`buildVolume`); encryption replaces the sink, nothing else.
 */
import { displayPath } from '../util/bytes-path.js';
import fs from 'node:fs';
import type { Db } from '../catalog/db.js';
import type { SiteKeys } from '../crypto/keys.js';
import type { Sodium } from '../crypto/sodium.js';
import { HashRing } from '../iso/hash-thread.js';
import { planVolumes, rootFolderName, volumeName } from '../iso/plan.js';
import { removeStaleTemps, writeToStore } from '../iso/store-folder.js';
import { dirTimes, registerVolume, volumeNameTaken } from '../iso/volume-store.js';
import { buildVolume, SourceChangedError, type BuiltVolume, type VolumeEntry } from '../iso/writer.js';
import type { ObjectRecord } from '../objects/writer.js';
import type { VolumeCrypto } from '../objects/volume.js';
import { formatSize } from '../util/units.js';
import { JobError, noProgress, type JobProgress, type ProgressFn } from './job.js';
import { candidates, entriesFor, type Candidate } from './pack-candidates.js';
// The encrypted pipeline (keys, object store) is imported where it is used, so that a plain pack
// does not load it.

const JOB = 'iso create';

export interface PackEncryption {
  /** Object store folder or file: URL; default the one recorded at init. */
  objectsDir?: string;
  /**
   * The site's keys, checked against the catalog (a wrong passphrase rejects). Called once the plan
   * has a volume to write; Argon2id runs while the first image is laid out, and nothing is written
   * before it resolves.
   */
  unlock: () => Promise<{ sodium: Sodium; keys: SiteKeys }>;
}

export interface PackOptions {
  /** Bytes per volume (at least 1 MB). */
  volumeSize: number;
  /** Existing folder for plain images (and for the temp files a killed run left there). */
  storeDir: string;
  /** Name of the (first) volume; default `<oldest file date>--<newest file date>.iso`. */
  name?: string;
  /** Also pack the files that do not fill a whole volume yet. */
  partial: boolean;
  /** Encrypt into the site's object store; a site without keys gets plain images (with a warning). */
  encrypt?: PackEncryption;
  signal?: AbortSignal;
  onProgress?: ProgressFn;
}

export interface PackedVolume {
  id: number;
  name: string;
  /** The image file, or the object's URL in the object store. */
  file: string;
  size: number;
  files: number;
  sha256: string;
}

export interface PackResult {
  volumes: PackedVolume[];
  /** Files (and their bytes) that wait until they fill a volume. */
  waitingFiles: number;
  waitingBytes: number;
  /** Staging files changed since the scan, not packed. */
  skippedFiles: number;
  /** Volumes not made because a source file changed while it was read. */
  notCreated: string[];
}

/** The job was interrupted through its signal; the volumes listed were finished and are kept. */
export class PackInterrupted extends Error {
  override name = 'PackInterrupted';
  constructor(
    readonly volumes: PackedVolume[],
    override readonly cause: unknown,
  ) {
    super(`interrupted: ${volumes.length} volume(s) finished and kept`);
  }
}

/** Where the images go: a store folder, or the site's object store. */
interface Sink {
  crypto: VolumeCrypto | null;
  objects: typeof import('../objects/volume.js') | null;
  markPending?: (objectId: Buffer) => void;
}

export async function packVolumes(db: Db, opts: PackOptions): Promise<PackResult> {
  const say = opts.onProgress ?? noProgress;
  const info = (message: string, level: JobProgress['level'] = 'info') => say({ job: JOB, message, level });
  const { storeDir, signal } = opts;
  if (!fs.existsSync(storeDir) || !fs.statSync(storeDir).isDirectory()) throw new JobError(`store folder ${storeDir} does not exist: create it, or pass another with --store-dir/-p`, 'input');
  for (const n of removeStaleTemps(storeDir)) info(`removing ${n}, left by an interrupted iso create`);
  const made: PackedVolume[] = [];
  // A plain image's SHA-256 runs on a worker thread; start it now, so that its ~30-50 ms boot
  // overlaps the catalog queries and stat checks below instead of delaying the copy.
  let ring: HashRing | undefined = opts.encrypt ? undefined : new HashRing();
  try {
    const { ok, skipped } = candidates(db, (m) => info(m, 'warn'));
    const plan = planVolumes(ok, opts.volumeSize, opts.partial);
    const times = dirTimes(db, rootFolderName);
    let pending = opts.encrypt && plan.volumes.length > 0 ? (await startEncryption(db, opts.encrypt, info)).ready : null;
    let sink: Sink = { crypto: null, objects: null };
    const notCreated: string[] = [];
    for (const group of plan.volumes) {
      const name = volumeName(group, (n) => volumeNameTaken(db, n), opts.name);
      const entries = entriesFor(group as Candidate[], times);
      const vol = buildVolume(entries, { volumeId: name.replace(/\.iso$/i, '') });
      if (pending) {
        sink = await pending;
        pending = null;
      }
      info(`creating ${name}: ${group.length} file(s), ${formatSize(vol.size)}`);
      // For --debug / -l 5: every file packed, and where its bytes sit in the image.
      entries.forEach((e, i) => {
        if (e.kind === 'file') info(`${name}: ${displayPath(e.path)} (${formatSize(e.size)}) at offset ${vol.extents[i]![0]?.offset ?? 0}`, 'debug');
      });
      const progress = volumeProgress(say, name, vol, entries);
      let written: { file: string | null; sha256: Buffer };
      let object: ObjectRecord | null = null;
      try {
        if (sink.crypto) {
          object = await sink.objects!.encryptVolume(sink.crypto, vol, signal, progress, sink.markPending);
          written = { file: null, sha256: object.plainSha256 };
        } else {
          // The ring started above serves the first plain volume; later ones start their own.
          const r = ring;
          ring = undefined;
          written = await writeToStore(vol, storeDir, name, {
            signal,
            ring: r,
            onProgress: progress,
            onReplace: (file) => info(`replacing ${file}: it is not in the catalog (left by an interrupted iso create?)`, 'warn'),
          });
        }
      } catch (err) {
        if (err instanceof SourceChangedError) {
          info(`${name} not created: ${err.message}; run scan, then iso create again`, 'warn');
          notCreated.push(name);
          continue;
        }
        throw err;
      }
      const files = entries
        .map((e, i) => ({ e, ext: vol.extents[i]! }))
        .filter(({ e }) => e.kind === 'file')
        .map(({ e, ext }, k) => ({ fileId: group[k]!.id, isoPath: e.path, offset: ext[0]!.offset, length: e.size }));
      const register = (createdAt?: number) => registerVolume(db, { name, size: vol.size, sha256: written.sha256, localPath: written.file, files, createdAt });
      const { crypto } = sink;
      const id = crypto && object ? await sink.objects!.sealEncryptedVolume(db, crypto, object, { name, size: vol.size, files }, register) : register();
      made.push({ id, name, file: written.file ?? `${crypto!.tier.url}/${object!.objectId.toString('hex')}`, size: vol.size, files: files.length, sha256: written.sha256.toString('hex') });
    }
    const waitingBytes = plan.waiting.reduce((s, f) => s + f.size, 0);
    if (plan.waiting.length > 0) {
      info(`${plan.waiting.length} file(s), ${formatSize(waitingBytes)}, wait until they fill a ${formatSize(opts.volumeSize)} volume; use --partial to pack them now`);
    }
    return { volumes: made, waitingFiles: plan.waiting.length, waitingBytes, skippedFiles: skipped, notCreated };
  } catch (err) {
    if (signal?.aborted) throw new PackInterrupted(made, err);
    throw err;
  } finally {
    await ring?.close();
  }
}

/**
 * Starts the encrypted sink (or a plain one for a site without keys: no `init` yet) as soon as the
 * plan is known: Argon2id runs in the thread pool while the object modules load and the first
 * image is laid out. (Reading the image meanwhile measured no faster, and the KDF's 64 MiB on top
 * of the chunk slots took peak memory past 200 MB.) The caller awaits `ready` before writing
 * anything, so a wrong passphrase fails with nothing written.
 */
async function startEncryption(db: Db, enc: PackEncryption, info: (m: string, level?: JobProgress['level']) => void): Promise<{ ready: Promise<Sink> }> {
  const { loadSiteKeys } = await import('../objects/catalog.js');
  const site = loadSiteKeys(db);
  if (!site) {
    info('this site has no keys yet (run `lomo-peer init`): writing plain ISO files as with --no-encrypt', 'warn');
    return { ready: Promise.resolve({ crypto: null, objects: null }) };
  }
  const unlocked = enc.unlock();
  unlocked.catch(() => {}); // awaited through ready
  const [{ FileTier }, objects, pending] = await Promise.all([import('../tiers/file.js'), import('../objects/volume.js'), import('../objects/pending.js')]);
  const tier = new FileTier(enc.objectsDir ?? site.objectsUrl);
  const ready = unlocked.then(async (u): Promise<Sink> => {
    // What a killed iso create (or upload) left in local object stores goes first.
    const swept = await pending.sweepPending(db, (url) => (url.startsWith('file:') ? new FileTier(url) : null));
    if (swept > 0) info(`removed the leftovers of ${swept} object(s) an interrupted run had started`);
    return { crypto: { sodium: u.sodium, keys: u.keys, tier, siteId: site.siteId }, objects, markPending: (id) => pending.markPending(db, id, tier.url) };
  });
  ready.catch(() => {});
  return { ready };
}

/**
 * Progress of one volume: bytes of the image produced so far, and how many of its files lie
 * entirely before that point.
 */
function volumeProgress(say: ProgressFn, name: string, vol: BuiltVolume, entries: VolumeEntry[]): (bytes: number) => void {
  const ends = entries.flatMap((e, i) => (e.kind === 'file' ? [(vol.extents[i]![0]?.offset ?? 0) + e.size] : [])).sort((a, b) => a - b);
  let filesDone = 0;
  return (bytes) => {
    while (filesDone < ends.length && ends[filesDone]! <= bytes) filesDone++;
    say({ job: JOB, item: name, doneBytes: bytes, totalBytes: vol.size, doneItems: filesDone, totalItems: ends.length, final: bytes === vol.size });
  };
}
