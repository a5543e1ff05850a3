import { createHash, randomBytes } from 'node:crypto';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { PeerStoreError, isNoSpace } from './errors.js';

/** Bytes of a chunk as they arrive: all at once, or streamed (never held whole by this module). */
export type ChunkBytes = Uint8Array | AsyncIterable<Uint8Array>;

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
  const fh = await fsp.open(tmp, 'wx', 0o600);
  try {
    try {
      for await (const piece of source instanceof Uint8Array ? [source] : source) {
        written += piece.length;
        // Stop as soon as a sender exceeds what it announced: its quota was checked for `size`.
        if (written > size) throw new PeerStoreError('size-mismatch', `more than the announced ${size} bytes arrived`);
        hash.update(piece);
        let off = 0;
        while (off < piece.length) off += (await fh.write(piece, off, piece.length - off)).bytesWritten;
      }
      if (written !== size) throw new PeerStoreError('size-mismatch', `${written} bytes arrived, ${size} were announced`);
      await fh.sync();
    } finally {
      await fh.close();
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
