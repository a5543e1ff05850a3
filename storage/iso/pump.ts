/**
 * The fast way to put an image into a file: copy it as genisoimage does, one thread, read a small
 * piece then write it (synchronous pread/pwrite on the calling thread), so that the bytes just
 * read are still in this core's L1/L2 cache when the kernel copies them out again; the optional
 * SHA-256 runs on a second thread over the same buffers (hash-thread.ts). Memory is the ring
 * (default 16 x 64 KiB) whatever the image size, and no buffer is ever allocated per chunk.
 *
 * Measured here (1.36 GB image, warm cache): the earlier design — reads and writes as async
 * requests in libuv's thread pool, 8 x 256 KiB ring — cost the kernel 2.2-3.8 s of system time,
 * against 0.6-0.7 s for this one and ~0.8 s for genisoimage: a chunk read on one core and
 * written from another, or one larger than L2, is copied from memory twice instead of from cache.
 * The event loop is given a turn every few MiB (for signals, timers and the background flush).
 */
import fs from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { HashRing } from './hash-thread.js';
import type { ImageCursor } from './writer.js';

export interface PumpOptions {
  /** Sees every chunk in order, on the copying thread, before it is written; must not keep it. */
  onChunk?: (chunk: Buffer) => void;
  /** Also compute the SHA-256 of the image, on a second thread. */
  sha256?: boolean;
  /**
   * The hash thread to use (implies `sha256`), started by the caller ahead of time so that the
   * worker's boot overlaps the caller's other work; its slot size is the buffer size. copyImage
   * owns it from then on and closes it.
   */
  ring?: HashRing;
  /** Bytes per read, and per ring slot (default 64 KiB). */
  bufferSize?: number;
  /**
   * Bytes per write (default 32 KiB): each buffer is written in pieces of at most this size.
   * ext4 (Linux 6.16+) gives a write page-cache folios as large as the write: a 64 KiB write gets
   * order-4 folios, which come straight from the buddy allocator's lists, where on a VM with free
   * page reporting most pages have been handed back to the host, so the first touch of each is a
   * host page fault; folios up to 32 KiB (order 3) come from the per-CPU lists of recently freed
   * pages. Measured (1.36 GB image, 10 alternated runs): 64 KiB writes 0.60-3.7 s (a third of
   * the runs 2-3.7 s, the write copy at 60% of the samples), 32 KiB 0.70-0.93 s.
   */
  writeSize?: number;
  /** Ring slots between the copier and the hash thread (default 16). */
  buffers?: number;
  signal?: AbortSignal;
  /**
   * Start an fdatasync in the background after every this many bytes, so that the disk writes
   * while the image is still being produced and the caller's final fsync has little left to do.
   */
  syncEvery?: number;
}

const YIELD_EVERY = 8 << 20;

/** Writes the whole image to `out` from offset 0; resolves with the number of bytes written and, if asked, its SHA-256. */
export async function copyImage(cursor: ImageCursor, out: FileHandle, opts: PumpOptions = {}): Promise<{ bytes: number; sha256: Buffer | null }> {
  const size = opts.ring?.slotSize ?? opts.bufferSize ?? 64 << 10;
  const ring = opts.ring ?? (opts.sha256 ? new HashRing(Math.max(2, opts.buffers ?? 16), size) : null);
  const scratch = ring ? null : Buffer.allocUnsafe(size);
  const writeSize = Math.max(4096, opts.writeSize ?? 32 << 10);
  const fd = out.fd;
  let pos = 0;
  let sinceYield = 0;
  let firstError: unknown = null;
  let syncing: Promise<void> | null = null;
  let syncedTo = 0;
  let sha256: Buffer | null = null;
  try {
    for (;;) {
      const buf = ring ? ring.next() : scratch!;
      const n = cursor.fillSync(buf);
      if (n === 0) break;
      opts.onChunk?.(n === size ? buf : buf.subarray(0, n));
      // At most writeSize bytes per pwrite (see PumpOptions.writeSize); a short write is legal too.
      for (let done = 0; done < n; ) done += fs.writeSync(fd, buf, done, Math.min(writeSize, n - done), pos + done);
      ring?.publish(n);
      pos += n;
      if (n < size) break; // the image ended inside this buffer
      sinceYield += n;
      if (sinceYield >= YIELD_EVERY) {
        sinceYield = 0;
        await new Promise((r) => setImmediate(r));
        opts.signal?.throwIfAborted();
        if (firstError) throw firstError;
        if (opts.syncEvery && !syncing && pos - syncedTo >= opts.syncEvery) {
          syncedTo = pos;
          // In the thread pool, beside the copy; one at a time.
          syncing = out.datasync().finally(() => (syncing = null));
          syncing.catch((err) => (firstError ??= err));
        }
      }
    }
    opts.signal?.throwIfAborted();
    if (ring) sha256 = await ring.digest();
  } finally {
    await Promise.allSettled([syncing]);
    await ring?.close();
    await cursor.close();
  }
  if (firstError) throw firstError;
  return { bytes: pos, sha256 };
}

/** `copyImage` without the hash thread; resolves with the number of bytes written. */
export async function pumpToFile(cursor: ImageCursor, out: FileHandle, opts: Omit<PumpOptions, 'sha256'> = {}): Promise<number> {
  return (await copyImage(cursor, out, opts)).bytes;
}
