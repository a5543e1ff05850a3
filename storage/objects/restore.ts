import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';

/**
 * Placing restored bytes: only inside the target folder whatever the stored names say, only after
 * the plaintext SHA-256 matched, and atomically (temporary name in the same folder, fsync, rename).
 * On any failure the temporary file and every folder this restore created are removed again, so a
 * failed restore leaves nothing at the destination.
 */
export class UnsafePathError extends Error {
  override name = 'UnsafePathError';
}

export class PlaintextMismatchError extends Error {
  override name = 'PlaintextMismatchError';
}

/** Path segments of a stored '/'-separated byte path; refuses anything that could climb out. */
export function safeSegments(rel: Buffer): Buffer[] {
  const segs: Buffer[] = [];
  let start = 0;
  for (let i = 0; i <= rel.length; i++) {
    if (i === rel.length || rel[i] === 0x2f) {
      const seg = rel.subarray(start, i);
      start = i + 1;
      if (seg.length === 0) continue; // leading '/' or '//'
      const text = seg.toString('latin1');
      // A backslash is an ordinary character of a Linux name (no separator here): not refused.
      if (text === '.' || text === '..' || seg.includes(0)) {
        throw new UnsafePathError(`refusing to restore "${rel.toString()}": it contains "${text}", which could reach outside the target folder`);
      }
      segs.push(Buffer.from(seg));
    }
  }
  if (segs.length === 0) throw new UnsafePathError(`refusing to restore an empty path`);
  return segs;
}

export interface PlaceOptions {
  /** Expected plaintext SHA-256; the file is not placed if the bytes differ. */
  sha256?: Buffer | null;
  size?: number;
  mtimeMs?: number;
  /** Bytes written so far, after each write (for a progress bar). */
  onProgress?: (bytes: number) => void;
}

/**
 * Writes `<toDir>/<rel>` from the bytes `produce` hands to `write`, verifying size and SHA-256
 * before the rename. Returns the final path (bytes).
 */
export async function placeFile(
  toDir: string,
  rel: Buffer,
  opts: PlaceOptions,
  produce: (write: (b: Buffer) => Promise<void>) => Promise<void>,
): Promise<Buffer> {
  const segs = safeSegments(rel);
  const root = Buffer.from(fs.realpathSync(toDir));
  const created: Buffer[] = [];
  let tmp: Buffer | null = null;
  let fh: fs.promises.FileHandle | null = null;
  try {
    let dir = root;
    for (const seg of segs.slice(0, -1)) {
      dir = Buffer.concat([dir, Buffer.from('/'), seg]);
      let st: fs.Stats | null = null;
      try {
        st = fs.lstatSync(dir);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      }
      if (!st) {
        fs.mkdirSync(dir);
        created.push(dir);
      } else if (!st.isDirectory()) {
        // A symlink here could point anywhere: never follow one.
        throw new UnsafePathError(`refusing to restore through ${dir.toString()}: it is not a plain folder`);
      }
    }
    const final = Buffer.concat([dir, Buffer.from('/'), segs.at(-1)!]);
    tmp = Buffer.concat([dir, Buffer.from(`/.lomo-restore-${process.pid}-${randomBytes(4).toString('hex')}.tmp`)]);
    fh = await fs.promises.open(tmp, 'wx', 0o666); // the umask applies, as for any new file
    const hash = createHash('sha256');
    let size = 0;
    const handle = fh;
    await produce(async (b) => {
      hash.update(b);
      size += b.length;
      let off = 0;
      while (off < b.length) off += (await handle.write(b, off, b.length - off)).bytesWritten;
      opts.onProgress?.(size);
    });
    const sha = hash.digest();
    if (opts.size !== undefined && size !== opts.size) throw new PlaintextMismatchError(`${rel.toString()}: restored ${size} bytes, the catalog says ${opts.size}`);
    if (opts.sha256 && !sha.equals(opts.sha256)) throw new PlaintextMismatchError(`${rel.toString()}: restored bytes do not match the catalog's SHA-256`);
    await fh.sync();
    await fh.close();
    fh = null;
    if (opts.mtimeMs !== undefined) fs.utimesSync(tmp, new Date(opts.mtimeMs), new Date(opts.mtimeMs));
    fs.renameSync(tmp, final);
    tmp = null;
    return final;
  } catch (e) {
    await fh?.close().catch(() => {});
    if (tmp) fs.rmSync(tmp, { force: true });
    for (const d of created.reverse()) {
      try {
        fs.rmdirSync(d); // only if still empty: never removes anything this restore did not make
      } catch {
        /* not empty or gone */
      }
    }
    throw e;
  }
}

/** For messages: a byte path shown as text. */
export function showPath(p: Buffer): string {
  return p.toString();
}
