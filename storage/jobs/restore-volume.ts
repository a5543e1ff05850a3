/**
 * The volume restore job (`restore volume`): a whole encrypted volume decrypted back into its plain
 * ISO image `<to>/<name>.iso`, every chunk and the image's SHA-256 verified before it is placed.
 */
import type { Db } from '../catalog/db.js';
import { volumeByName } from '../iso/volume-store.js';
import { objectForVolume } from '../objects/catalog.js';
import { decryptRange, type ReadContext } from '../objects/reader.js';
import { placeFile } from '../objects/restore.js';
import { JobError, noProgress, type ProgressFn } from './job.js';
import { prepareTarget, restoreError } from './restore-target.js';

const JOB = 'restore volume';

export interface RestoreVolumeOptions {
  /** Volume name as `list iso` shows it (`.iso` may be left out). */
  name: string;
  /** Folder to restore into (created if missing). */
  to: string;
  onProgress?: ProgressFn;
}

export interface RestoreVolumeResult {
  volume: string;
  /** The image file written. */
  to: string;
  size: number;
  sha256: string;
}

/** Restores with the already unlocked keys and tier in `read`. An unknown or plain volume is an input error. */
export async function restoreVolume(db: Db, read: ReadContext, opts: RestoreVolumeOptions): Promise<RestoreVolumeResult> {
  const say = opts.onProgress ?? noProgress;
  const vol = volumeByName(db, opts.name);
  if (!vol) throw new JobError(`no volume named ${opts.name} in the catalog (see \`lomo-peer list iso\`)`, 'input');
  const object = objectForVolume(db, vol.id);
  if (!object) throw new JobError(`volume ${vol.name} has no encrypted object (made with --no-encrypt?)`, 'input');
  const cleanup = prepareTarget(opts.to);
  const fileName = vol.name.endsWith('.iso') ? vol.name : `${vol.name}.iso`;
  const size = object.plainSize;
  const onProgress = (b: number) => say({ job: JOB, item: vol.name, doneBytes: b, totalBytes: size, doneItems: b === size ? 1 : 0, totalItems: 1 });
  try {
    const final = await placeFile(opts.to, Buffer.from(fileName), { sha256: object.plainSha256, size, onProgress }, (write) => decryptRange(read, object, 0, size, write));
    const sha256 = object.plainSha256.toString('hex');
    if (vol.sha256 && vol.sha256 !== sha256) say({ job: JOB, item: vol.name, level: 'warn', message: `volume ${vol.name}: catalog image hash differs from its object's plaintext hash` });
    return { volume: vol.name, to: final.toString(), size, sha256 };
  } catch (e) {
    throw restoreError(e, `volume ${vol.name}`) ?? e;
  } finally {
    cleanup();
  }
}
