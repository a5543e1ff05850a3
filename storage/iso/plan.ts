/**
 * Volume planning: which staging files go together into which volume, what each volume is
 * called, and where each file sits inside the image. Pure functions over catalog rows; the
 * rules are lomob's and are stated for users in docs/iso-format.md:
 *
 * - Files are taken oldest first (mtime, then path) and packed greedily: a volume is sealed when
 *   the next file would make its image larger than the volume size. The last, unfilled group
 *   waits for more files (users may still delete unwanted ones) unless `partial` is set.
 * - A file that alone makes an image larger than the volume size gets a volume of its own,
 *   sealed at once: waiting would never make it fit.
 * - Inside the image a file lives at <scan root joined with '_'>/<path relative to the root>.
 */
import type { ByteString } from '../util/bytes-path.js';
import { SECTOR, sectorsFor } from './ecma119.js';
import { computeLayout, type VolumeEntry } from './layout.js';

export interface PlanFile {
  id: number;
  rootPath: ByteString;
  relPath: ByteString;
  size: number;
  mtimeMs: number;
}

/** lomob's rule: /home/a/Pictures → home_a_Pictures ("root" for the file system root). */
export function rootFolderName(rootPath: ByteString): ByteString {
  return rootPath.split('/').filter((p) => p.length > 0).join('_') || 'root';
}

export function imagePath(f: { rootPath: ByteString; relPath: ByteString }): ByteString {
  return `${rootFolderName(f.rootPath)}/${f.relPath}`;
}

/** Every folder above the given '/'-separated paths, each once. */
export function foldersAbove(paths: Iterable<ByteString>): Set<ByteString> {
  const dirs = new Set<ByteString>();
  for (const p of paths) {
    const parts = p.split('/');
    for (let i = 1; i < parts.length; i++) dirs.add(parts.slice(0, i).join('/'));
  }
  return dirs;
}

/** Fixed costs of an image: system area, descriptors, 4 path tables, the root's CE sector. */
const BASE_BYTES = (19 + 4 + 1) * SECTOR;
/**
 * Upper bound of the metadata one file adds: a record of at most 255 bytes in each hierarchy,
 * plus what a record can waste at a sector end, plus a continuation area for a long name.
 */
const PER_FILE_META = 2 * (255 + 254) + 600;
/** A new folder: one sector of records in each hierarchy, its records in the parent, path tables. */
const PER_DIR_META = 2 * SECTOR + 2 * (255 + 254) + 600 + 4 * 40;

/** Upper bound of the image size for a set of files; exact check with `imageSize`. */
class SizeEstimate {
  bytes = BASE_BYTES;
  private readonly dirs = new Set<string>();

  add(f: PlanFile): void {
    this.bytes += sectorsFor(f.size) * SECTOR + PER_FILE_META + this.newDirs(f, true) * PER_DIR_META;
  }

  /** Bytes `f` would add (without adding it). */
  cost(f: PlanFile): number {
    return sectorsFor(f.size) * SECTOR + PER_FILE_META + this.newDirs(f, false) * PER_DIR_META;
  }

  private newDirs(f: PlanFile, record: boolean): number {
    const parts = imagePath(f).split('/');
    let n = 0;
    for (let i = 1; i < parts.length; i++) {
      const key = parts.slice(0, i).join('/');
      if (!this.dirs.has(key)) {
        n++;
        if (record) this.dirs.add(key);
      }
    }
    return n;
  }
}

/** Exact size of the image these entries make. */
export function imageSize(entries: readonly VolumeEntry[]): number {
  return computeLayout(entries, 0).totalSectors * SECTOR;
}

export interface Plan {
  /** Groups to pack now, each ordered by image path. */
  volumes: PlanFile[][];
  /** Files that wait for more data (no --partial). */
  waiting: PlanFile[];
}

export function planVolumes(files: readonly PlanFile[], volumeSize: number, partial: boolean): Plan {
  const byAge = [...files].sort((a, b) => a.mtimeMs - b.mtimeMs || cmp(imagePath(a), imagePath(b)));
  const volumes: PlanFile[][] = [];
  let group: PlanFile[] = [];
  let est = new SizeEstimate();
  for (const f of byAge) {
    const alone = new SizeEstimate();
    if (alone.bytes + alone.cost(f) > volumeSize) {
      volumes.push([f]); // larger than a volume: its own volume, now
      continue;
    }
    if (est.bytes + est.cost(f) > volumeSize) {
      volumes.push(group);
      group = [];
      est = new SizeEstimate();
    }
    group.push(f);
    est.add(f);
  }
  let waiting: PlanFile[] = [];
  if (group.length > 0) {
    if (partial) volumes.push(group);
    else waiting = group;
  }
  return { volumes: volumes.map((g) => g.sort((a, b) => cmp(imagePath(a), imagePath(b)))), waiting };
}

const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** yyyy-mm-dd in local time, as lomob names volumes. */
function day(ms: number): string {
  const d = new Date(ms);
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
}

/**
 * lomob's default name `<oldest file date>--<newest file date>.iso`; if a volume of that name
 * exists already, `_2`, `_3`... before `.iso`. A given name gets `.iso` appended if missing.
 */
export function volumeName(files: readonly PlanFile[], taken: (name: string) => boolean, given?: string): string {
  let base: string;
  if (given) base = given.replace(/\.iso$/i, '');
  else {
    const times = files.map((f) => f.mtimeMs);
    base = `${day(Math.min(...times))}--${day(Math.max(...times))}`;
  }
  let name = `${base}.iso`;
  for (let n = 2; taken(name); n++) name = `${base}_${n}.iso`;
  return name;
}
