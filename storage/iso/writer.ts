/**
 * The streaming ISO 9660 writer: `buildVolume(entries)` computes the whole layout from metadata,
 * then returns the image as a Readable that emits it front to back — descriptors, path tables,
 * directories, continuation areas, then file data read in large chunks — plus each file's byte
 * extents. Memory is bounded by the metadata (about 1 KB per file) and the stream's
 * buffer, never by the image size. The output depends only on the entries and options (no clock):
 * the same files give a byte-identical image.
 */
import { Readable } from 'node:stream';
import fs from 'node:fs/promises';
import fsSync from 'node:fs';
import {
  SECTOR, FIRST_DESCRIPTOR_LBA, writeBoth16, writeBoth32, writeDate17, writeDirRecord, writeField, writeFieldUcs2,
  writePathRecord,
} from './ecma119.js';
import { computeLayout, dirRecordLengths, dirRecords, entryExtents, packRecords, type Extent, type Layout, type Node, type VolumeEntry } from './layout.js';

export type { VolumeEntry, Extent } from './layout.js';

export interface VolumeOptions {
  /** Volume label (upper-cased to d-characters, 32 max; Joliet keeps 16 characters). */
  volumeId?: string;
  /** Timestamp for the descriptors and implicit folders; default: the newest entry mtime. */
  epochMs?: number;
  /** Size of the buffers the stream emits (default 4 MiB). */
  readChunk?: number;
}

export interface BuiltVolume {
  /** Exact size of the image in bytes. */
  size: number;
  /** Per entry (same index as the input): its data extents in the image; [] for folders. */
  extents: Extent[][];
  /**
   * The image as a byte stream (created on first access). Errors (a file vanished or changed
   * size) are emitted as stream errors.
   */
  readonly stream: Readable;
  /** The same bytes pulled into caller-owned buffers: the fast path for sinks that reuse buffers. */
  cursor: ImageCursor;
  layout: Layout;
}

/** A source file is no longer what the entry list said; the image would be wrong. */
export class SourceChangedError extends Error {
  override name = 'SourceChangedError';
}

export function buildVolume(entries: readonly VolumeEntry[], opts: VolumeOptions = {}): BuiltVolume {
  const epochMs = opts.epochMs ?? entries.reduce((m, e) => Math.max(m, e.mtimeMs), 0);
  const layout = computeLayout(entries, epochMs);
  const volumeId = (opts.volumeId ?? 'LOMO_PEER').toUpperCase().replace(/[^A-Z0-9_]/g, '_').slice(0, 32);
  const cursor = new ImageCursor(layout, entries, volumeId);
  const chunk = opts.readChunk ?? 4 << 20;
  let stream: Readable | undefined;
  return {
    size: layout.totalSectors * SECTOR,
    extents: entryExtents(layout, entries.length),
    get stream() {
      stream ??= Readable.from(chunks(cursor, chunk), { objectMode: false, highWaterMark: 2 * chunk });
      return stream;
    },
    cursor,
    layout,
  };
}

/** Fresh buffers for the stream: the consumer may keep them. */
async function* chunks(cursor: ImageCursor, size: number): AsyncGenerator<Buffer> {
  try {
    for (;;) {
      const buf = Buffer.allocUnsafe(size);
      const n = await cursor.fill(buf);
      if (n === 0) return;
      yield n === size ? buf : buf.subarray(0, n);
    }
  } finally {
    await cursor.close();
  }
}

type Segment = { buf: Buffer } | { file: Node; entry: VolumeEntry };

/** Metadata pieces in image order, then one segment per file (read when reached). */
function* segments(layout: Layout, entries: readonly VolumeEntry[], volumeId: string): Generator<Segment> {
  yield { buf: Buffer.alloc(FIRST_DESCRIPTOR_LBA * SECTOR) };
  yield { buf: descriptor(layout, volumeId, false) };
  yield { buf: descriptor(layout, volumeId, true) };
  yield { buf: terminator() };
  yield { buf: pathTable(layout.primaryDirs, false, false, layout.pathTableSize) };
  yield { buf: pathTable(layout.primaryDirs, true, false, layout.pathTableSize) };
  yield { buf: pathTable(layout.jolietDirs, false, true, layout.jolietPathTableSize) };
  yield { buf: pathTable(layout.jolietDirs, true, true, layout.jolietPathTableSize) };
  for (const d of layout.primaryDirs) yield { buf: directory(d, false) };
  yield { buf: continuationAreas(layout) };
  for (const d of layout.jolietDirs) yield { buf: directory(d, true) };
  for (const f of layout.files) yield { file: f, entry: entries[f.entry]! };
}

/**
 * Produces the image front to back into buffers the caller passes in. Metadata is generated a
 * piece at a time (one directory at most), file data is read straight into the caller's buffer,
 * so the only memory is the caller's buffers plus the layout.
 */
export class ImageCursor {
  private readonly it: Generator<Segment>;
  private seg: Segment | null = null;
  private segPos = 0; // bytes of the current segment already emitted (data + padding for files)
  private fh: fs.FileHandle | null = null;
  private fd: number | null = null;
  private done = false;
  /** Bytes emitted so far. */
  position = 0;

  constructor(layout: Layout, entries: readonly VolumeEntry[], volumeId: string) {
    this.it = segments(layout, entries, volumeId);
  }

  /** Fills `buf` with the next bytes of the image; returns how many (less than its size only at the end). */
  async fill(buf: Buffer): Promise<number> {
    let off = 0;
    while (off < buf.length && !this.done) {
      if (!this.seg) {
        const next = this.it.next();
        if (next.done) {
          this.done = true;
          break;
        }
        this.seg = next.value;
        this.segPos = 0;
      }
      const seg = this.seg;
      if ('buf' in seg) {
        const n = seg.buf.copy(buf, off, this.segPos);
        off += n;
        this.segPos += n;
        if (this.segPos === seg.buf.length) this.seg = null;
        continue;
      }
      const size = seg.file.size;
      const padded = Math.ceil(size / SECTOR) * SECTOR;
      if (this.segPos < size) {
        const src = seg.entry.source ?? seg.entry.path;
        if (!this.fh) {
          this.fh = await fs.open(src, 'r').catch((err: NodeJS.ErrnoException) => {
            throw new SourceChangedError(`cannot read ${String(src)}: ${err.code ?? err.message}`);
          });
        }
        const want = Math.min(buf.length - off, size - this.segPos);
        const { bytesRead } = await this.fh.read(buf, off, want, this.segPos);
        if (bytesRead === 0) throw new SourceChangedError(`${String(src)} shrank while it was being packed (expected ${size} bytes)`);
        off += bytesRead;
        this.segPos += bytesRead;
        continue;
      }
      if (this.fh) {
        await this.fh.close();
        this.fh = null;
      }
      const pad = Math.min(buf.length - off, padded - this.segPos);
      buf.fill(0, off, off + pad);
      off += pad;
      this.segPos += pad;
      if (this.segPos === padded) this.seg = null;
    }
    this.position += off;
    return off;
  }

  /**
   * The same as `fill`, with synchronous reads on the calling thread: for a sink that copies on
   * one thread (storage/iso/pump.ts), where the bytes just read are still in this core's cache
   * when they are written. Do not mix with `fill` on one cursor.
   */
  fillSync(buf: Buffer): number {
    let off = 0;
    while (off < buf.length && !this.done) {
      if (!this.seg) {
        const next = this.it.next();
        if (next.done) {
          this.done = true;
          break;
        }
        this.seg = next.value;
        this.segPos = 0;
      }
      const seg = this.seg;
      if ('buf' in seg) {
        const n = seg.buf.copy(buf, off, this.segPos);
        off += n;
        this.segPos += n;
        if (this.segPos === seg.buf.length) this.seg = null;
        continue;
      }
      const size = seg.file.size;
      const padded = Math.ceil(size / SECTOR) * SECTOR;
      if (this.segPos < size) {
        const src = seg.entry.source ?? seg.entry.path;
        if (this.fd === null) {
          try {
            this.fd = fsSync.openSync(src, 'r');
          } catch (err) {
            throw new SourceChangedError(`cannot read ${String(src)}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
          }
        }
        const want = Math.min(buf.length - off, size - this.segPos);
        const bytesRead = fsSync.readSync(this.fd, buf, off, want, this.segPos);
        if (bytesRead === 0) throw new SourceChangedError(`${String(src)} shrank while it was being packed (expected ${size} bytes)`);
        off += bytesRead;
        this.segPos += bytesRead;
        continue;
      }
      if (this.fd !== null) {
        fsSync.closeSync(this.fd);
        this.fd = null;
      }
      const pad = Math.min(buf.length - off, padded - this.segPos);
      buf.fill(0, off, off + pad);
      off += pad;
      this.segPos += pad;
      if (this.segPos === padded) this.seg = null;
    }
    this.position += off;
    return off;
  }

  /** Releases the open source file, if any (after an error or an early stop). */
  async close(): Promise<void> {
    if (this.fh) await this.fh.close().catch(() => {});
    this.fh = null;
    if (this.fd !== null) {
      try {
        fsSync.closeSync(this.fd);
      } catch {
        // already closed
      }
      this.fd = null;
    }
  }
}

function descriptor(layout: Layout, volumeId: string, joliet: boolean): Buffer {
  const b = Buffer.alloc(SECTOR);
  b[0] = joliet ? 2 : 1;
  b.write('CD001', 1, 'latin1');
  b[6] = 1;
  const field = joliet ? writeFieldUcs2 : writeField;
  field(b, 8, 32, '');
  field(b, 40, 32, joliet ? volumeId.slice(0, 16) : volumeId);
  writeBoth32(b, 80, layout.totalSectors);
  if (joliet) b.write('%/E', 88, 'latin1'); // UCS-2 level 3
  writeBoth16(b, 120, 1);
  writeBoth16(b, 124, 1);
  writeBoth16(b, 128, SECTOR);
  const ptSize = joliet ? layout.jolietPathTableSize : layout.pathTableSize;
  writeBoth32(b, 132, ptSize);
  b.writeUInt32LE(joliet ? layout.jptL : layout.ptL, 140);
  b.writeUInt32BE(joliet ? layout.jptM : layout.ptM, 148);
  const root = layout.root;
  writeDirRecord(b, 156, {
    lba: joliet ? root.jLba : root.pLba,
    dataLength: joliet ? root.jSize : root.pSize,
    mtimeMs: root.mtimeMs,
    flags: 0x02,
    identifier: Buffer.from([0]),
  });
  field(b, 190, 128, '');
  field(b, 318, 128, '');
  field(b, 446, 128, '');
  field(b, 574, 128, 'LOMO-PEER');
  field(b, 702, 37, '');
  field(b, 739, 37, '');
  field(b, 776, 37, '');
  writeDate17(b, 813, layout.epochMs);
  writeDate17(b, 830, layout.epochMs);
  writeDate17(b, 847, null);
  writeDate17(b, 864, layout.epochMs);
  b[881] = 1;
  return b;
}

function terminator(): Buffer {
  const b = Buffer.alloc(SECTOR);
  b[0] = 255;
  b.write('CD001', 1, 'latin1');
  b[6] = 1;
  return b;
}

function pathTable(dirs: Node[], bigEndian: boolean, joliet: boolean, size: number): Buffer {
  const b = Buffer.alloc(Math.ceil(size / SECTOR) * SECTOR);
  let off = 0;
  for (const d of dirs) {
    const id = d.parent ? (joliet ? d.jolietId : d.isoId) : Buffer.from([0]);
    const parentNo = d.parent ? (joliet ? d.parent.jNo : d.parent.pNo) : 1;
    off += writePathRecord(b, off, id, joliet ? d.jLba : d.pLba, parentNo, bigEndian);
  }
  return b;
}

function directory(d: Node, joliet: boolean): Buffer {
  const records = dirRecords(d, joliet);
  const lengths = dirRecordLengths(d, joliet);
  const { offsets, size } = packRecords(lengths);
  if (size !== (joliet ? d.jSize : d.pSize) || lengths.length !== records.length) throw new Error('directory layout changed while writing (bug)');
  const b = Buffer.alloc(size);
  records.forEach((r, i) => {
    if (writeDirRecord(b, offsets[i]!, r) !== lengths[i]) throw new Error(`directory record ${i} has an unexpected length (bug)`);
  });
  return b;
}

function continuationAreas(layout: Layout): Buffer {
  const b = Buffer.alloc(layout.ceSectors * SECTOR);
  const visit = (n: Node) => {
    if (n.ceBlob) n.ceBlob.copy(b, (n.ceLba - layout.ceFirstLba) * SECTOR + n.ceOff);
  };
  visit(layout.root);
  for (const d of layout.primaryDirs) for (const c of d.children) visit(c);
  return b;
}
