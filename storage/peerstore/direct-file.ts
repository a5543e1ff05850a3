import fs from 'node:fs';
import fsp from 'node:fs/promises';

/**
 * A new file written sequentially with O_DIRECT where the file system allows it: the bytes go
 * from page-aligned buffers straight to the disk instead of through the page cache.
 *
 * Why (docs/peer-store.md, "Writing a chunk"): a holder writes every byte it is sent and fsyncs
 * each chunk. Through the page cache the kernel's CPU time for that was 0.4-2.5 ms per MB here
 * (dd bs=1M conv=fsync, ext4 on virtio: copy into the cache, dirty accounting, writeback), the
 * largest single cost of receiving a chunk, more than its SHA-256; with O_DIRECT it was
 * 0.08 ms/MB, steadily. The chunk is never read back soon (its owner restores it months later),
 * so nothing is lost by not caching it. fsync is still needed for the file's metadata and the
 * device's cache, and is still called.
 *
 * O_DIRECT needs the buffer's address, the length and the file offset aligned to the device's
 * block: bytes are gathered in a page-aligned buffer (a WebAssembly memory, which V8 maps at a page
 * boundary; a Buffer's address has no such promise) and written DIRECT_BUFFER_BYTES at a time;
 * the last block is written padded with zeros and the file truncated to its size. A file system
 * without O_DIRECT (EINVAL at open or at the first write: some tmpfs, FUSE) is written through the
 * page cache as before, and so is a file when all DIRECT_BUFFERS buffers are in use.
 */

/** Alignment of addresses, lengths and offsets for O_DIRECT (covers 512 and 4096-byte sectors). */
export const DIRECT_ALIGN = 4096;
/** Bytes gathered before one write. */
export const DIRECT_BUFFER_BYTES = 1024 * 1024;
/** Aligned buffers in the process: as many as the chunk protocol's transfers at once. */
export const DIRECT_BUFFERS = 8;

const WASM_PAGE = 64 * 1024;
/** The one part of the WebAssembly global used here (the project's lib has no DOM types). */
const { Memory } = (globalThis as unknown as { WebAssembly: { Memory: new (d: { initial: number }) => { readonly buffer: ArrayBuffer } } }).WebAssembly;

let free: Buffer[] | null = null;

/** An aligned buffer, or null when all are in use. The memory is made on first use and kept. */
function takeBuffer(): Buffer | null {
  if (free === null) {
    try {
      const memory = new Memory({ initial: (DIRECT_BUFFERS * DIRECT_BUFFER_BYTES) / WASM_PAGE });
      free = Array.from({ length: DIRECT_BUFFERS }, (_, i) => Buffer.from(memory.buffer, i * DIRECT_BUFFER_BYTES, DIRECT_BUFFER_BYTES));
    } catch {
      // V8 reserves address space for a WebAssembly memory; where a limit (ulimit -v) refuses
      // that, every file goes through the page cache.
      free = [];
    }
  }
  return free.pop() ?? null;
}

function giveBack(buf: Buffer): void {
  free!.push(buf);
}

/** Folders where O_DIRECT was refused: their files go through the page cache from then on. */
const noDirect = new Set<string>();

const isEinval = (err: unknown) => (err as NodeJS.ErrnoException | undefined)?.code === 'EINVAL';

export class DirectFile {
  /** Bytes handed to `write` so far (the file's size once `finish` has run). */
  private size = 0;
  /** Bytes written to the file (a multiple of DIRECT_ALIGN while the file is direct). */
  private flushed = 0;
  /** Bytes of `buf` not yet written. */
  private filled = 0;
  private closed = false;
  private wentDirect: boolean;

  private constructor(
    private fh: fsp.FileHandle,
    private readonly file: string,
    private readonly folder: string,
    /** The aligned buffer while writing directly; null: through the page cache. */
    private buf: Buffer | null,
  ) {
    this.wentDirect = buf !== null;
  }

  /** Whether the bytes went around the page cache (false from the start, or once it fell back). */
  get direct(): boolean {
    return this.wentDirect;
  }


  /** Creates `file` (it must not exist), mode 0600; `folder` is its folder (for the O_DIRECT memo). */
  static async create(file: string, folder: string): Promise<DirectFile> {
    const buf = noDirect.has(folder) ? null : takeBuffer();
    if (buf) {
      const { O_WRONLY, O_CREAT, O_EXCL, O_DIRECT } = fs.constants;
      try {
        return new DirectFile(await fsp.open(file, O_WRONLY | O_CREAT | O_EXCL | O_DIRECT, 0o600), file, folder, buf);
      } catch (err) {
        giveBack(buf);
        if (!isEinval(err)) throw err;
        noDirect.add(folder);
      }
    }
    return new DirectFile(await fsp.open(file, 'wx', 0o600), file, folder, null);
  }

  /** Appends `bufs` (the caller may reuse them once this resolves). */
  async write(bufs: readonly Uint8Array[]): Promise<void> {
    for (const b of bufs) {
      this.size += b.length;
      if (!this.buf) {
        await writeAll(this.fh, b, this.flushed);
        this.flushed += b.length;
        continue;
      }
      let off = 0;
      while (off < b.length) {
        const n = Math.min(DIRECT_BUFFER_BYTES - this.filled, b.length - off);
        this.buf.set(b.subarray(off, off + n), this.filled);
        this.filled += n;
        off += n;
        if (this.filled === DIRECT_BUFFER_BYTES) await this.flush(DIRECT_BUFFER_BYTES);
      }
    }
  }

  /** Writes what is left, sets the file's size, fsyncs and closes it. */
  async finish(): Promise<void> {
    try {
      if (this.buf && this.filled > 0) {
        // The last block padded with zeros, which the truncate cuts off again.
        const tail = this.filled;
        const padded = Math.ceil(tail / DIRECT_ALIGN) * DIRECT_ALIGN;
        this.buf.fill(0, tail, padded);
        await this.flush(padded);
        if (padded > tail) await this.fh.truncate(this.size);
      }
      await this.fh.sync();
    } finally {
      await this.close();
    }
  }

  /** Closes the file, finished or not (then the caller removes it); again: nothing. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.buf) giveBack(this.buf);
    this.buf = null;
    await this.fh.close();
  }

  /** Writes the first `length` bytes of the aligned buffer at the end of what is written. */
  private async flush(length: number): Promise<void> {
    const buf = this.buf!;
    try {
      await writeAll(this.fh, buf.subarray(0, length), this.flushed);
    } catch (err) {
      if (!isEinval(err)) throw err;
      // The file system took the open but not the write: go on through the page cache.
      noDirect.add(this.folder);
      await this.fh.close();
      this.fh = await fsp.open(this.file, 'r+');
      await writeAll(this.fh, buf.subarray(0, length), this.flushed);
      this.buf = null;
      this.wentDirect = false;
      giveBack(buf);
    }
    this.flushed += this.filled;
    this.filled = 0;
  }
}

/** Writes all of `bytes` at `position` (a short write goes on where it stopped). */
async function writeAll(fh: fsp.FileHandle, bytes: Uint8Array, position: number): Promise<void> {
  let done = 0;
  while (done < bytes.length) {
    const { bytesWritten } = await fh.write(bytes, done, bytes.length - done, position + done);
    if (bytesWritten === 0) throw Object.assign(new Error('the disk took no bytes'), { code: 'ENOSPC' });
    done += bytesWritten;
  }
}
