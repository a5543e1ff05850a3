/**
 * The files of one volume (`iso dump`): read from an image file when `iso` names one, else from
 * the catalog's record of the volume with that name.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Db } from '../catalog/db.js';
import { foldersAbove, rootFolderName } from '../iso/plan.js';
import { dirTimes, volumeByName, volumeContents } from '../iso/volume-store.js';
import type { IsoEntry } from '../iso/reader.js';
import { JobError } from './job.js';

/** A file or folder of a volume, as the image lists it (folders have size 0). */
export type VolumeItem = Pick<IsoEntry, 'path' | 'isDir' | 'size' | 'mtimeMs'>;

/**
 * Every file and folder of the volume. `catalog` runs its callback with the catalog open (it is
 * opened only when `iso` is not an image file). Unknown names and unreadable images are input errors.
 */
export async function volumeListing(iso: string, catalog: <T>(fn: (db: Db) => T) => T): Promise<VolumeItem[]> {
  if (fs.existsSync(iso) && fs.statSync(iso).isFile()) return imageListing(iso);
  return catalog((db) => catalogListing(db, iso));
}

async function imageListing(file: string): Promise<VolumeItem[]> {
  const { IsoFormatError, IsoReader } = await import('../iso/reader.js');
  let r: import('../iso/reader.js').IsoReader;
  try {
    r = await IsoReader.open(file);
  } catch (err) {
    if (err instanceof IsoFormatError) throw new JobError(err.message, 'input', err);
    throw err;
  }
  try {
    return (await r.list()).map((e) => ({ path: e.path, isDir: e.isDir, size: e.isDir ? 0 : e.size, mtimeMs: e.mtimeMs }));
  } finally {
    await r.close();
  }
}

function catalogListing(db: Db, iso: string): VolumeItem[] {
  const v = volumeByName(db, path.basename(iso));
  if (!v) throw new JobError(`no ISO file or volume named ${iso}: give a path to an .iso file, or a name from \`lomo-peer iso list\``, 'input');
  const files = volumeContents(db, v.id);
  const times = dirTimes(db, rootFolderName);
  const dirs = foldersAbove(files.map((f) => f.isoPath));
  return [
    ...[...dirs].map((d) => ({ path: d, isDir: true, size: 0, mtimeMs: times.get(d) ?? 0 })),
    ...files.map((f) => ({ path: f.isoPath, isDir: false, size: f.size, mtimeMs: f.mtimeMs })),
  ];
}
