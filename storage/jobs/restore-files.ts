/**
 * The file restore job (`restore file`): the newest encrypted copy of each library file (or of
 * every file under a folder) is read, verified chunk by chunk and against its plaintext SHA-256, and
 * placed under the target folder at its library path, atomically. A file that fails is reported and
 * skipped; the others are still restored.
 */
import path from 'node:path';
import type { Db } from '../catalog/db.js';
import { findCopies } from '../objects/copies.js';
import { decryptRange, type ReadContext } from '../objects/reader.js';
import { placeFile } from '../objects/restore.js';
import { fromDisplayPath } from '../util/bytes-path.js';
import { JobError, noProgress, type ProgressFn } from './job.js';
import { prepareTarget, restoreError } from './restore-target.js';

const JOB = 'restore file';

export interface RestoreFilesOptions {
  /** Library paths as scanned (absolute, or relative to the working folder), files or folders. */
  paths: string[];
  /** Folder to restore into (created if missing); nothing is written outside it. */
  to: string;
  onProgress?: ProgressFn;
}

export interface RestoreFilesResult {
  restored: { path: string; size: number; to: string }[];
  /** The files that failed, each with why (also reported through the progress callback). */
  failed: { path: string; error: JobError }[];
}

/**
 * Restores with the already unlocked keys and tier in `read`. A path without any encrypted copy
 * stops the job (JobError 'input') before anything is written.
 */
export async function restoreFiles(db: Db, read: ReadContext, opts: RestoreFilesOptions): Promise<RestoreFilesResult> {
  const say = opts.onProgress ?? noProgress;
  // A name that is not valid UTF-8 (or has control characters) is listed as \xNN escapes and can
  // only be typed that way: try the text itself first, then the bytes its escapes spell.
  const copiesOf = (p: string) => {
    for (const wanted of fromDisplayPath(path.resolve(p))) {
      const found = findCopies(db, wanted);
      if (found.length > 0) return found;
    }
    return [];
  };
  const plan = opts.paths.map((p) => ({ p, copies: copiesOf(p) }));
  for (const { p, copies } of plan) {
    if (copies.length === 0) throw new JobError(`no encrypted copy of ${p} in the catalog (is it scanned, and packed by \`iso create\` or staged?)`, 'input');
  }
  const cleanup = prepareTarget(opts.to);
  const result: RestoreFilesResult = { restored: [], failed: [] };
  const all = plan.flatMap((x) => x.copies);
  const totalBytes = all.reduce((s, c) => s + c.size, 0);
  let before = 0;
  let filesDone = 0;
  try {
    for (const c of all) {
      const shown = c.libraryPath.toString();
      const onProgress = (b: number) => say({ job: JOB, item: shown, doneBytes: before + b, totalBytes, doneItems: filesDone, totalItems: all.length });
      try {
        const final = await placeFile(opts.to, c.libraryPath, { sha256: c.sha256, size: c.size, mtimeMs: c.mtimeMs, onProgress }, (write) =>
          decryptRange(read, c.object, c.offset, c.size, write),
        );
        result.restored.push({ path: shown, size: c.size, to: final.toString() });
        say({ job: JOB, item: shown, message: `restored ${shown} -> ${final.toString()}` });
      } catch (e) {
        const error = restoreError(e, shown);
        if (!error) throw e;
        result.failed.push({ path: shown, error });
        say({ job: JOB, item: shown, message: error.message, level: 'warn', error });
      }
      before += c.size;
      filesDone++;
    }
  } finally {
    cleanup();
  }
  return result;
}
