/**
 * Hashing worker: reads one file at a time with large sequential reads and returns its SHA-256
 * together with the file's identity before and after reading, so the scanner can tell a file
 * that changed while it was being read. Runs in a worker thread so hashing uses every core while
 * the main thread walks folders and writes the catalog.
 */
import { parentPort } from 'node:worker_threads';
import { createHash } from 'node:crypto';
import fs from 'node:fs';

export interface HashRequest {
  id: number;
  path: Uint8Array;
}

export interface FileIdentity {
  size: number;
  mtimeMs: number;
  ino: number;
  dev: number;
}

/** Sent while a big file is being read: bytes read since the last report. */
export interface HashProgress {
  progress: number;
}

export type HashReply =
  | { id: number; ok: true; sha256: Uint8Array; bytesRead: number; reported: number; before: FileIdentity; after: FileIdentity }
  | { id: number; ok: false; code: string; message: string };

const BUF_SIZE = 1 << 20;
/** Big files report progress every this many bytes, so a progress bar keeps moving on a 4 GB video. */
const PROGRESS_EVERY = 32 << 20;
const buf = Buffer.allocUnsafe(BUF_SIZE);

function identity(st: fs.Stats): FileIdentity {
  return { size: st.size, mtimeMs: st.mtimeMs, ino: st.ino, dev: st.dev };
}

function hashFile(req: HashRequest): HashReply {
  let fd: number | undefined;
  try {
    fd = fs.openSync(Buffer.from(req.path), fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
    const before = identity(fs.fstatSync(fd));
    const hash = createHash('sha256');
    let total = 0;
    let reported = 0;
    for (;;) {
      const n = fs.readSync(fd, buf, 0, BUF_SIZE, null);
      if (n === 0) break;
      hash.update(n === BUF_SIZE ? buf : buf.subarray(0, n));
      total += n;
      if (total - reported >= PROGRESS_EVERY) {
        parentPort!.postMessage({ progress: total - reported });
        reported = total;
      }
    }
    const after = identity(fs.fstatSync(fd));
    return { id: req.id, ok: true, sha256: hash.digest(), bytesRead: total, reported, before, after };
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    return { id: req.id, ok: false, code: e.code ?? 'EUNKNOWN', message: e.message };
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

parentPort?.on('message', (batch: HashRequest[]) => {
  parentPort!.postMessage(batch.map(hashFile));
});
