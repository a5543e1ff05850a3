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

/** The restored plaintext's SHA-256 against the catalog's: a mismatch is stored data that failed verification. */
export function checkPlainSha(sha: Buffer, expectSha?: Buffer | null): void {
  if (expectSha && !sha.equals(expectSha)) throw new ChunkError('volume', 0, `restored SHA-256 ${sha.toString('hex')} differs from the catalog's ${expectSha.toString('hex')}`);
}

/**
 * Writes through a temp file next to `out`; `produce` returns the plaintext SHA-256 it verified.
 * Only a verified file is fsynced and renamed into place; anything else is removed.
 *
 * The stream owns its descriptor (opened, fsynced by `flush` and closed by the stream alone):
 * closing it a second time by hand raced the stream's own close and ended the process with an
 * unhandled EBADF 'error' event, or closed a descriptor the process had reused meanwhile.
 */
export async function atomicWrite(out: string, produce: (w: Writable) => Promise<Buffer>, expectSha?: Buffer | null): Promise<Buffer> {
  const tmp = path.join(path.dirname(out), `.${path.basename(out)}.${process.pid}.part`);
  const w = fs.createWriteStream(tmp, { flags: 'w', mode: 0o600, flush: true });
  const closed = new Promise<void>((resolve) => w.once('close', () => resolve()));
  // Every error of the stream (open, write, fsync, a write after destroy) lands here, never unhandled.
  let fail: (e: Error) => void = () => {};
  const failed = new Promise<never>((_, reject) => (fail = reject));
  failed.catch(() => {});
  w.on('error', (e) => fail(e));
  try {
    // A producer waiting for 'drain' on a stream that failed would wait forever: the failure wins.
    const sha = await Promise.race([produce(w), failed]);
    await Promise.race([new Promise<void>((resolve) => w.end(() => resolve())), failed]);
    await Promise.race([closed, failed]);
    checkPlainSha(sha, expectSha);
    fs.renameSync(tmp, out);
    return sha;
  } catch (e) {
    w.destroy();
    await closed;
    fs.rmSync(tmp, { force: true });
    throw e;
  }
}
