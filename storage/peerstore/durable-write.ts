import { createHash, randomBytes } from 'node:crypto';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { DirectFile } from './direct-file.js';
import { PeerStoreError, isNoSpace } from './errors.js';

/**
 * Bytes of a chunk as they arrive: all at once, or streamed (never held whole by this module),
 * each step one array or several in order (a network frame as the pieces it arrived in: they
 * are hashed in turn and gathered into DirectFile's aligned buffer, with no joined copy).
 */
export type ChunkBytes = Uint8Array | AsyncIterable<Uint8Array | readonly Uint8Array[]>;

/**
 * Writes `source` to a new temporary file in `tmpDir`, hashing while writing, and fsyncs it. The
 * file is returned only if exactly `size` bytes arrived and they hash to `sha` (hex); on any
 * failure it is removed and the error says why (`hash-mismatch`, `size-mismatch`, `disk-full`).
 */
export async function writeVerifiedTemp(tmpDir: string, source: ChunkBytes, sha: string, size: number): Promise<string> {
  await fsp.mkdir(tmpDir, { recursive: true, mode: 0o700 });
  const tmp = path.join(tmpDir, randomBytes(12).toString('hex'));
  const hash = createHash('sha256');
  let written = 0;
  // O_DIRECT where the file system allows it (direct-file.ts says why).
  const file = await DirectFile.create(tmp, tmpDir);
  try {
    try {
      for await (const piece of source instanceof Uint8Array ? [source] : source) {
        const bufs = piece instanceof Uint8Array ? [piece] : piece;
        for (const b of bufs) written += b.length;
        // Stop as soon as a sender exceeds what it announced: its quota was checked for `size`.
        if (written > size) throw new PeerStoreError('size-mismatch', `more than the announced ${size} bytes arrived`);
        for (const b of bufs) hash.update(b);
        await file.write(bufs);
      }
      if (written !== size) throw new PeerStoreError('size-mismatch', `${written} bytes arrived, ${size} were announced`);
      await file.finish();
    } finally {
      await file.close();
    }
    const got = hash.digest('hex');
    if (got !== sha) throw new PeerStoreError('hash-mismatch', `the bytes sent hash to ${got}, not ${sha}`);
    return tmp;
  } catch (err) {
    await fsp.rm(tmp, { force: true });
    throw asStoreError(err);
  }
}

/**
 * Moves a verified temporary file to `final` and makes the move durable: the new name is fsynced
 * in its folder, and so is every folder this call created, up to `root`.
 */
export async function placeDurably(tmp: string, final: string, root: string): Promise<void> {
  try {
    const created = await mkdirs(path.dirname(final), root);
    await fsp.rename(tmp, final);
    await fsyncDir(path.dirname(final));
    for (const dir of created) await fsyncDir(path.dirname(dir));
  } catch (err) {
    await fsp.rm(tmp, { force: true });
    throw asStoreError(err);
  }
}

export async function fsyncDir(dir: string): Promise<void> {
  const fh = await fsp.open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Creates `dir` and missing parents below `root`; returns the folders created, deepest first. */
async function mkdirs(dir: string, root: string): Promise<string[]> {
  const created: string[] = [];
  for (let d = dir; d !== root && d.startsWith(root + path.sep); d = path.dirname(d)) {
    try {
      await fsp.access(d);
      break;
    } catch {
      created.push(d);
    }
  }
  await fsp.mkdir(dir, { recursive: true, mode: 0o700 });
  return created;
}

function asStoreError(err: unknown): unknown {
  if (err instanceof PeerStoreError) return err;
  if (isNoSpace(err)) return new PeerStoreError('disk-full', `no room to store the chunk: ${(err as Error).message}`, { cause: err });
  return err;
}
