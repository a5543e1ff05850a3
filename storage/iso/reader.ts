/**
 * ISO 9660 reader: lists and extracts files by path from our images and from genisoimage/xorriso
 * ones. Names come from Rock Ridge when the image has it (SP in the root), else from Joliet, else
 * from the plain ISO 9660 identifiers. It follows continuation areas (CE), NM continuation, Rock
 * Ridge directory relocation (CL/RE, which mkisofs uses for trees deeper than 8 levels) and joins
 * multi-extent files. Reads are positioned reads on a file handle: nothing is loaded whole.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { SECTOR, FIRST_DESCRIPTOR_LBA, FLAG_DIRECTORY, FLAG_MULTI_EXTENT, fromUcs2be, parseDirRecord, readDate7, type ParsedDirRecord } from './ecma119.js';
import { parseSusp, type SuspEntry } from './rockridge.js';
import type { Extent } from './layout.js';
import type { ByteString } from '../util/bytes-path.js';

const MAX_DIR_BYTES = 64 << 20;

export type NameSource = 'rockridge' | 'joliet' | 'iso9660';

export interface IsoEntry {
  /** '/'-separated path from the image root, no leading slash; raw name bytes as a byte string. */
  path: ByteString;
  isDir: boolean;
  size: number;
  mtimeMs: number;
  /** POSIX mode from Rock Ridge PX, if present. */
  mode?: number;
  extents: Extent[];
}

interface RootInfo {
  lba: number;
  size: number;
}

export class IsoFormatError extends Error {
  override name = 'IsoFormatError';
}

export class IsoReader {
  private relocations = 0;

  private constructor(
    private readonly fh: fs.FileHandle,
    readonly names: NameSource,
    private readonly root: RootInfo,
    readonly volumeSectors: number,
  ) {}

  /** Opens an image. `prefer` forces a name source (e.g. 'joliet' to see what Windows sees). */
  static async open(file: string, prefer?: NameSource): Promise<IsoReader> {
    const fh = await fs.open(file, 'r');
    try {
      let primary: RootInfo | null = null;
      let joliet: RootInfo | null = null;
      let sectors = 0;
      for (let lba = FIRST_DESCRIPTOR_LBA; lba < FIRST_DESCRIPTOR_LBA + 64; lba++) {
        const d = await readAt(fh, lba * SECTOR, SECTOR);
        if (d.toString('latin1', 1, 6) !== 'CD001') throw new IsoFormatError(`${file} is not an ISO 9660 image (no volume descriptor at sector ${lba})`);
        const type = d[0]!;
        if (type === 255) break;
        const rec = parseDirRecord(d, 156);
        if (type === 1) {
          primary = { lba: rec.lba, size: rec.dataLength };
          sectors = d.readUInt32LE(80);
        } else if (type === 2 && d[88] === 0x25 && d[89] === 0x2f && [0x40, 0x43, 0x45].includes(d[90]!)) {
          joliet = { lba: rec.lba, size: rec.dataLength };
        }
      }
      if (!primary) throw new IsoFormatError(`${file} has no primary volume descriptor`);
      let names: NameSource = 'iso9660';
      const rootDir = await readAt(fh, primary.lba * SECTOR, SECTOR);
      const dot = parseDirRecord(rootDir, 0);
      const hasRR = parseSusp(dot.systemUse).some((e) => e.sig === 'SP');
      if (prefer === 'joliet' && joliet) names = 'joliet';
      else if (prefer === 'iso9660') names = 'iso9660';
      else if (hasRR) names = 'rockridge';
      else if (joliet) names = 'joliet';
      const root = names === 'joliet' ? joliet! : primary;
      return new IsoReader(fh, names, root, sectors);
    } catch (err) {
      await fh.close();
      throw err;
    }
  }

  async close(): Promise<void> {
    await this.fh.close();
  }

  /** Every file and folder, parents before children, each folder's children in image order. */
  async list(): Promise<IsoEntry[]> {
    const out: IsoEntry[] = [];
    const seen = new Set<number>();
    const walk = async (dir: RootInfo, prefix: string): Promise<void> => {
      if (seen.has(dir.lba)) return; // a malformed image must not loop us forever
      seen.add(dir.lba);
      for (const e of await this.readDir(dir, prefix)) {
        out.push(e);
        if (e.isDir) await walk({ lba: e.extents[0]!.offset / SECTOR, size: e.extents[0]!.length }, e.path + '/');
      }
    };
    await walk(this.root, '');
    // mkisofs parks relocated deep folders in /rr_moved; once followed through CL it is empty
    // bookkeeping, hidden as bsdtar and the kernel hide it.
    const moved = out.find((e) => e.isDir && /^\.?rr_moved$/.test(e.path));
    if (moved && this.relocations > 0 && !out.some((e) => e.path.startsWith(moved.path + '/'))) out.splice(out.indexOf(moved), 1);
    return out;
  }

  /** Finds one entry by its path (byte string, leading '/' optional). */
  async find(p: ByteString): Promise<IsoEntry | undefined> {
    const parts = p.split('/').filter((x) => x.length > 0);
    let dir = this.root;
    let prefix = '';
    for (let i = 0; i < parts.length; i++) {
      const hit = (await this.readDir(dir, prefix)).find((e) => e.path === prefix + parts[i]);
      if (!hit) return undefined;
      if (i === parts.length - 1) return hit;
      if (!hit.isDir) return undefined;
      dir = { lba: hit.extents[0]!.offset / SECTOR, size: hit.extents[0]!.length };
      prefix = hit.path + '/';
    }
    return undefined;
  }

  /** Streams a file's bytes (all extents in order) to `write`, in chunks of up to 4 MiB. */
  async read(entry: IsoEntry, write: (chunk: Buffer) => void | Promise<void>): Promise<void> {
    for (const ext of entry.extents) {
      for (let pos = 0; pos < ext.length; pos += 4 << 20) {
        await write(await readAt(this.fh, ext.offset + pos, Math.min(4 << 20, ext.length - pos)));
      }
    }
  }

  /** Extracts one file to `dest` atomically (temp name, fsync, rename); returns its SHA-256. */
  async extract(entry: IsoEntry, dest: string): Promise<Buffer> {
    const tmp = path.join(path.dirname(dest), `.${path.basename(dest)}.${process.pid}.tmp`);
    const out = await fs.open(tmp, 'w');
    const hash = createHash('sha256');
    try {
      await this.read(entry, async (chunk) => {
        hash.update(chunk);
        await out.write(chunk);
      });
      await out.sync();
    } catch (err) {
      await out.close();
      await fs.rm(tmp, { force: true });
      throw err;
    }
    await out.close();
    await fs.rename(tmp, dest);
    return hash.digest();
  }

  private async readDir(dir: RootInfo, prefix: string): Promise<IsoEntry[]> {
    // A malformed image must not make us allocate gigabytes: no real folder needs 64 MiB of records.
    if (dir.size > MAX_DIR_BYTES) throw new IsoFormatError(`directory at sector ${dir.lba} claims ${dir.size} bytes; the image is corrupt`);
    const buf = await readAt(this.fh, dir.lba * SECTOR, dir.size);
    const out: IsoEntry[] = [];
    let pending: IsoEntry | null = null; // a multi-extent file whose last record is still to come
    let off = 0;
    while (off < buf.length) {
      if (buf[off] === 0) {
        off = (Math.floor(off / SECTOR) + 1) * SECTOR; // records never cross sectors: skip padding
        continue;
      }
      const rec = parseDirRecord(buf, off);
      if (rec.length < 34 || off + rec.length > buf.length) throw new IsoFormatError(`corrupt directory record at byte ${dir.lba * SECTOR + off}`);
      off += rec.length;
      const id = rec.identifier;
      if (id.length === 1 && (id[0] === 0 || id[0] === 1)) continue;
      const rr = this.names === 'rockridge' ? await this.rockRidge(rec) : null;
      if (rr?.relocated) {
        // RE: a relocated folder; it is listed where its CL record points from.
        this.relocations++;
        continue;
      }
      const name = rr?.name ?? this.plainName(id, (rec.flags & FLAG_DIRECTORY) !== 0);
      const extent = { offset: (rr?.childLink ?? rec.lba) * SECTOR, length: rec.dataLength };
      if (pending && pending.path === prefix + name) {
        pending.extents.push(extent);
        pending.size += rec.dataLength;
      } else {
        pending = {
          path: prefix + name,
          isDir: (rec.flags & FLAG_DIRECTORY) !== 0 || rr?.childLink !== undefined,
          size: rec.dataLength,
          mtimeMs: rr?.mtimeMs ?? rec.mtimeMs,
          mode: rr?.mode,
          extents: [extent],
        };
        if (pending.isDir && rr?.childLink !== undefined) {
          const target = parseDirRecord(await readAt(this.fh, rr.childLink * SECTOR, SECTOR), 0);
          pending.extents = [{ offset: target.lba * SECTOR, length: target.dataLength }];
          pending.size = target.dataLength;
        }
        out.push(pending);
      }
      if ((rec.flags & FLAG_MULTI_EXTENT) === 0) pending = null;
    }
    return out;
  }

  private plainName(id: Buffer, isDir: boolean): ByteString {
    if (this.names === 'joliet') {
      let s = fromUcs2be(id);
      if (!isDir) s = s.replace(/;\d+$/, '');
      return Buffer.from(s, 'utf8').toString('latin1');
    }
    let s = id.toString('latin1');
    if (!isDir) s = s.replace(/;\d+$/, '').replace(/\.$/, '');
    return s;
  }

  /** The Rock Ridge entries of one record, following CE continuation areas. */
  private async rockRidge(rec: ParsedDirRecord): Promise<{ name?: ByteString; mtimeMs?: number; mode?: number; childLink?: number; relocated: boolean }> {
    const entries: SuspEntry[] = [];
    let area = rec.systemUse;
    for (let hops = 0; hops < 16; hops++) {
      const list = parseSusp(area);
      entries.push(...list);
      const ce = list.find((e) => e.sig === 'CE');
      if (!ce) break;
      const lba = ce.data.readUInt32LE(4);
      const len = ce.data.readUInt32LE(20);
      if (len > SECTOR) throw new IsoFormatError(`continuation area of ${len} bytes (more than a sector); the image is corrupt`);
      area = await readAt(this.fh, lba * SECTOR + ce.data.readUInt32LE(12), len);
    }
    let name: string | undefined;
    let mtimeMs: number | undefined;
    let mode: number | undefined;
    let childLink: number | undefined;
    let relocated = false;
    for (const e of entries) {
      const d = e.data;
      if (e.sig === 'NM' && (d[4]! & 0x06) === 0) name = (name ?? '') + d.toString('latin1', 5);
      else if (e.sig === 'PX') mode = d.readUInt32LE(4);
      else if (e.sig === 'CL') childLink = d.readUInt32LE(4);
      else if (e.sig === 'RE') relocated = true;
      else if (e.sig === 'TF') mtimeMs = tfModify(d);
    }
    return { name, mtimeMs, mode, childLink, relocated };
  }
}

/** The modify time from a TF entry (7-byte form; the 17-byte long form is not used by mkisofs -R). */
function tfModify(d: Buffer): number | undefined {
  const flags = d[4]!;
  if (flags & 0x80) return undefined;
  let off = 5;
  if (flags & 0x01) off += 7; // creation comes first
  return flags & 0x02 ? readDate7(d, off) : undefined;
}

async function readAt(fh: fs.FileHandle, pos: number, len: number): Promise<Buffer> {
  const buf = Buffer.alloc(len);
  let got = 0;
  while (got < len) {
    const { bytesRead } = await fh.read(buf, got, len - got, pos + got);
    if (bytesRead === 0) throw new IsoFormatError(`image truncated: cannot read ${len} bytes at ${pos}`);
    got += bytesRead;
  }
  return buf;
}
