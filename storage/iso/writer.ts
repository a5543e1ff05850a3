/**
 * The streaming ISO 9660 writer: `buildVolume(entries)` computes the whole layout from metadata,
 * then returns the image as a Readable that emits it front to back — descriptors, path tables,
 * directories, continuation areas, then file data read in large chunks — plus each file's byte
 * extents. Memory is bounded by the metadata (a few hundred bytes per file) and the stream's
 * buffer, never by the image size. The output depends only on the entries and options (no clock):
 * the same files give a byte-identical image.
 */
import { Readable } from 'node:stream';
import fs from 'node:fs/promises';
import {
  SECTOR, FIRST_DESCRIPTOR_LBA, writeBoth16, writeBoth32, writeDate17, writeDirRecord, writeField, writeFieldUcs2,
  writePathRecord,
} from './ecma119.js';
import { computeLayout, dirRecords, entryExtents, packRecords, type Extent, type Layout, type Node, type VolumeEntry } from './layout.js';

export type { VolumeEntry, Extent } from './layout.js';

export interface VolumeOptions {
  /** Volume label (upper-cased to d-characters, 32 max; Joliet keeps 16 characters). */
  volumeId?: string;
  /** Timestamp for the descriptors and implicit folders; default: the newest entry mtime. */
  epochMs?: number;
  /** Size of each file read (default 4 MiB). */
  readChunk?: number;
}

export interface BuiltVolume {
  /** Exact size of the image in bytes. */
  size: number;
  /** Per entry (same index as the input): its data extents in the image; [] for folders. */
  extents: Extent[][];
  /** The image. Errors (a file vanished or changed size) are emitted as stream errors. */
  stream: Readable;
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
  const stream = Readable.from(generate(layout, entries, volumeId, opts.readChunk ?? 4 << 20), {
    objectMode: false,
    highWaterMark: 8 << 20,
  });
  return { size: layout.totalSectors * SECTOR, extents: entryExtents(layout, entries.length), stream, layout };
}

async function* generate(layout: Layout, entries: readonly VolumeEntry[], volumeId: string, chunk: number): AsyncGenerator<Buffer> {
  // Metadata is produced in pieces and batched to ~1 MiB so that huge trees stay bounded too.
  let batch: Buffer[] = [];
  let batched = 0;
  const flush = function* () {
    if (batched > 0) yield Buffer.concat(batch, batched);
    batch = [];
    batched = 0;
  };
  const add = function* (b: Buffer) {
    batch.push(b);
    batched += b.length;
    if (batched >= 1 << 20) yield* flush();
  };
  yield* add(Buffer.alloc(FIRST_DESCRIPTOR_LBA * SECTOR));
  yield* add(descriptor(layout, volumeId, false));
  yield* add(descriptor(layout, volumeId, true));
  yield* add(terminator());
  yield* add(pathTable(layout.primaryDirs, false, false, layout.pathTableSize));
  yield* add(pathTable(layout.primaryDirs, true, false, layout.pathTableSize));
  yield* add(pathTable(layout.jolietDirs, false, true, layout.jolietPathTableSize));
  yield* add(pathTable(layout.jolietDirs, true, true, layout.jolietPathTableSize));
  for (const d of layout.primaryDirs) yield* add(directory(d, false));
  yield* add(continuationAreas(layout));
  for (const d of layout.jolietDirs) yield* add(directory(d, true));
  yield* flush();
  for (const f of layout.files) yield* fileData(f, entries[f.entry]!, chunk);
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
  const { offsets, size } = packRecords(records);
  const b = Buffer.alloc(size);
  records.forEach((r, i) => writeDirRecord(b, offsets[i]!, r));
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

/** Streams one file's bytes, padded with zeros to a whole sector; fails if the file changed size. */
async function* fileData(f: Node, e: VolumeEntry, chunk: number): AsyncGenerator<Buffer> {
  if (f.size === 0) return;
  const fh = await fs.open(e.source ?? e.path, 'r').catch((err: NodeJS.ErrnoException) => {
    throw new SourceChangedError(`cannot read ${String(e.source ?? e.path)}: ${err.code ?? err.message}`);
  });
  try {
    let pos = 0;
    while (pos < f.size) {
      const want = Math.min(chunk, f.size - pos);
      const last = pos + want === f.size;
      const buf = Buffer.allocUnsafe(last ? Math.ceil(want / SECTOR) * SECTOR : want);
      let got = 0;
      while (got < want) {
        const { bytesRead } = await fh.read(buf, got, want - got, pos + got);
        if (bytesRead === 0) throw new SourceChangedError(`${String(e.source ?? e.path)} shrank while it was being packed (expected ${f.size} bytes)`);
        got += bytesRead;
      }
      if (last) buf.fill(0, want);
      pos += want;
      yield buf;
    }
  } finally {
    await fh.close();
  }
}
