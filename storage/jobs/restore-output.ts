/**
 * Where a restore writes: never over an existing file, only into an existing folder, through a
 * temporary file that is fsynced and renamed into place only once its plaintext SHA-256 verified.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Writable } from 'node:stream';
import { ChunkError } from '../objects/reader.js';
import { JobError } from './job.js';

/** The output's absolute path, if it may be written: it must not exist, its folder must. */
export function checkOutput(out: string): string {
  const abs = path.resolve(out);
  if (fs.existsSync(abs)) throw new JobError(`${out} already exists: remove it or name another output file`, 'usage');
  if (!fs.existsSync(path.dirname(abs))) throw new JobError(`folder ${path.dirname(abs)} does not exist: create it first`, 'usage');
  return abs;
}

/**
 * Writes through a temp file next to `out`; `produce` returns the plaintext SHA-256 it verified.
 * Only a verified file is fsynced and renamed into place; anything else is removed.
 */
export async function atomicWrite(out: string, produce: (w: Writable) => Promise<Buffer>, expectSha?: Buffer | null): Promise<Buffer> {
  const tmp = path.join(path.dirname(out), `.${path.basename(out)}.${process.pid}.part`);
  const fd = fs.openSync(tmp, 'w', 0o600);
  const w = fs.createWriteStream('', { fd, autoClose: false });
  try {
    const sha = await produce(w);
    await new Promise<void>((resolve, reject) => w.end((e?: Error | null) => (e ? reject(e) : resolve())));
    if (expectSha && !sha.equals(expectSha)) throw new ChunkError('volume', 0, `restored SHA-256 ${sha.toString('hex')} differs from the catalog's ${expectSha.toString('hex')}`);
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    fs.renameSync(tmp, out);
    return sha;
  } catch (e) {
    // An fs stream's destroy() closes its descriptor itself, asynchronously and whatever autoClose
    // says; closing it here as well raced with that (EBADF as an unhandled 'error', exit 1). Wait.
    await new Promise<void>((resolve) => {
      w.once('error', () => {});
      w.once('close', () => resolve());
      w.destroy();
    });
    if ((w as unknown as { fd: number | null }).fd !== null) {
      try {
        fs.closeSync(fd);
      } catch {
        /* closed already */
      }
    }
    fs.rmSync(tmp, { force: true });
    throw e;
  }
}
