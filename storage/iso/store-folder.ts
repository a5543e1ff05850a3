/**
 * The store folder of plain (`--no-encrypt`) volumes: `writeToStore` is the sink that puts a built
 * image there, `removeStaleTemps` clears what a killed writer left. An image is written under a
 * temporary name carrying the writer's pid, so a later run can tell a live writer's file from a
 * dead one's.
 */
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { copyImage } from './pump.js';
import type { HashRing } from './hash-thread.js';
import type { BuiltVolume } from './writer.js';
import { processAlive } from '../util/process-alive.js';

const PARTIAL_SUFFIX = /^\..+\.(\d+)\.partial$/;

export interface StoreWriteOptions {
  signal?: AbortSignal;
  /** A hash thread already started (its boot overlapped other work); closed by this call. */
  ring?: HashRing;
  /** Bytes of the image written so far. */
  onProgress?: (bytes: number) => void;
  /** `<storeDir>/<name>` exists but is about to be replaced (it is not in the catalog). */
  onReplace?: (file: string) => void;
}

/**
 * Writes the image into <storeDir>/.<name>.<pid>.partial while hashing it, fsyncs, renames it to
 * <storeDir>/<name> and fsyncs the folder. On any failure the temp file is removed.
 * (A sink that consumes a stream, e.g. encryption, uses `vol.stream` instead of `vol.cursor`.)
 */
export async function writeToStore(vol: BuiltVolume, storeDir: string, name: string, opts: StoreWriteOptions = {}): Promise<{ file: string; sha256: Buffer }> {
  const { signal, ring, onProgress } = opts;
  const final = path.join(storeDir, name);
  const tmp = path.join(storeDir, `.${name}.${process.pid}.partial`);
  let sha256: Buffer;
  try {
    let out: fsp.FileHandle;
    try {
      out = await fsp.open(tmp, 'w');
    } catch (err) {
      await ring?.close();
      throw err;
    }
    try {
      // Copied on this thread, SHA-256 on a second one (storage/iso/pump.ts).
      let done = 0;
      const onChunk = onProgress && ((c: Buffer) => onProgress((done += c.length)));
      const r = await copyImage(vol.cursor, out, { sha256: true, ring, signal, syncEvery: 64 << 20, onChunk });
      if (r.bytes !== vol.size) throw new Error(`image ${name} came out at ${r.bytes} bytes, expected ${vol.size}`);
      sha256 = r.sha256!;
      await out.sync();
    } finally {
      await out.close();
    }
    if (fs.existsSync(final)) opts.onReplace?.(final);
    fs.renameSync(tmp, final);
    const dfd = fs.openSync(storeDir, 'r');
    fs.fsyncSync(dfd);
    fs.closeSync(dfd);
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    throw err;
  }
  return { file: final, sha256 };
}

/** Removes temp images left by a killed writer (its process is gone); returns their names. */
export function removeStaleTemps(storeDir: string): string[] {
  const removed: string[] = [];
  for (const n of fs.readdirSync(storeDir)) {
    const m = PARTIAL_SUFFIX.exec(n);
    if (!m || !n.endsWith('.iso.' + m[1] + '.partial')) continue;
    if (processAlive(Number(m[1]))) continue;
    fs.rmSync(path.join(storeDir, n), { force: true });
    removed.push(n);
  }
  return removed;
}
