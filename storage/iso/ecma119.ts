/**
 * Byte-level encoders and decoders for ECMA-119 (ISO 9660) structures: both-endian integers, the
 * two date formats, directory records and path table records. Pure functions over Buffers, shared
 * by the writer and the reader so that both agree on every offset.
 */

export const SECTOR = 2048;
/** Sectors 0..15 are the system area; volume descriptors start at 16. */
export const FIRST_DESCRIPTOR_LBA = 16;
/** Largest extent a directory record can describe that is still a whole number of sectors. */
export const MAX_EXTENT = 0xfffff800; // 4 GiB - 2048
/** Directory record flags (ECMA-119 9.1.6). */
export const FLAG_DIRECTORY = 0x02;
export const FLAG_MULTI_EXTENT = 0x80;

export function writeBoth16(buf: Buffer, off: number, v: number): void {
  buf.writeUInt16LE(v, off);
  buf.writeUInt16BE(v, off + 2);
}

export function writeBoth32(buf: Buffer, off: number, v: number): void {
  buf.writeUInt32LE(v, off);
  buf.writeUInt32BE(v, off + 4);
}

/** 7-byte recording date (9.1.5) in UTC: years since 1900, month, day, h, m, s, GMT offset 0. */
export function writeDate7(buf: Buffer, off: number, ms: number): void {
  const d = new Date(clampDate(ms));
  buf[off] = d.getUTCFullYear() - 1900;
  buf[off + 1] = d.getUTCMonth() + 1;
  buf[off + 2] = d.getUTCDate();
  buf[off + 3] = d.getUTCHours();
  buf[off + 4] = d.getUTCMinutes();
  buf[off + 5] = d.getUTCSeconds();
  buf[off + 6] = 0;
}

export function readDate7(buf: Buffer, off: number): number {
  const year = 1900 + buf[off]!;
  const gmtOff = buf.readInt8(off + 6) * 15 * 60_000;
  const utc = Date.UTC(year, buf[off + 1]! - 1, buf[off + 2]!, buf[off + 3]!, buf[off + 4]!, buf[off + 5]!);
  return utc - gmtOff;
}

/** 17-byte volume descriptor date (8.4.26.1): "YYYYMMDDHHMMSScc" + GMT offset; null = unset. */
export function writeDate17(buf: Buffer, off: number, ms: number | null): void {
  if (ms === null) {
    buf.write('0000000000000000', off, 'latin1');
    buf[off + 16] = 0;
    return;
  }
  const d = new Date(clampDate(ms));
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  const text =
    p(d.getUTCFullYear(), 4) + p(d.getUTCMonth() + 1) + p(d.getUTCDate()) + p(d.getUTCHours()) + p(d.getUTCMinutes()) +
    p(d.getUTCSeconds()) + p(Math.floor(d.getUTCMilliseconds() / 10));
  buf.write(text, off, 'latin1');
  buf[off + 16] = 0;
}

/** The 7-byte format holds years 1900..2155; ISO tools choke on anything outside. */
function clampDate(ms: number): number {
  const min = Date.UTC(1970, 0, 1);
  const max = Date.UTC(2155, 11, 31, 23, 59, 59);
  return Math.min(max, Math.max(min, Math.floor(ms / 1000) * 1000));
}

export interface DirRecordFields {
  lba: number;
  dataLength: number;
  mtimeMs: number;
  flags: number;
  /** File identifier bytes (d-characters, UCS-2 BE for Joliet, or 0x00 / 0x01 for "." / ".."). */
  identifier: Buffer;
  systemUse?: Buffer;
}

/** Total length of a directory record; even, because the system use area must start and end even. */
export function dirRecordLength(identifierLength: number, systemUseLength: number): number {
  const base = 33 + identifierLength + (identifierLength % 2 === 0 ? 1 : 0);
  const len = base + systemUseLength;
  return len + (len % 2);
}

/** Serializes one directory record (9.1) into `buf` at `off`; returns its length. */
export function writeDirRecord(buf: Buffer, off: number, r: DirRecordFields): number {
  const su = r.systemUse ?? Buffer.alloc(0);
  const len = dirRecordLength(r.identifier.length, su.length);
  if (len > 255) throw new Error(`directory record too long (${len} bytes)`);
  buf.fill(0, off, off + len);
  buf[off] = len;
  buf[off + 1] = 0;
  writeBoth32(buf, off + 2, r.lba);
  writeBoth32(buf, off + 10, r.dataLength);
  writeDate7(buf, off + 18, r.mtimeMs);
  buf[off + 25] = r.flags;
  buf[off + 26] = 0;
  buf[off + 27] = 0;
  writeBoth16(buf, off + 28, 1);
  buf[off + 32] = r.identifier.length;
  r.identifier.copy(buf, off + 33);
  const suOff = off + 33 + r.identifier.length + (r.identifier.length % 2 === 0 ? 1 : 0);
  su.copy(buf, suOff);
  return len;
}

export interface ParsedDirRecord {
  length: number;
  lba: number;
  dataLength: number;
  mtimeMs: number;
  flags: number;
  identifier: Buffer;
  systemUse: Buffer;
}

export function parseDirRecord(buf: Buffer, off: number): ParsedDirRecord {
  const length = buf[off]!;
  const idLen = buf[off + 32]!;
  const suStart = off + 33 + idLen + (idLen % 2 === 0 ? 1 : 0);
  return {
    length,
    lba: buf.readUInt32LE(off + 2),
    dataLength: buf.readUInt32LE(off + 10),
    mtimeMs: readDate7(buf, off + 18),
    flags: buf[off + 25]!,
    identifier: buf.subarray(off + 33, off + 33 + idLen),
    systemUse: buf.subarray(Math.min(suStart, off + length), off + length),
  };
}

/** Length of one path table record (9.4) with its padding byte. */
export function pathRecordLength(identifierLength: number): number {
  return 8 + identifierLength + (identifierLength % 2);
}

export function writePathRecord(
  buf: Buffer,
  off: number,
  identifier: Buffer,
  lba: number,
  parent: number,
  bigEndian: boolean,
): number {
  buf[off] = identifier.length;
  buf[off + 1] = 0;
  if (bigEndian) {
    buf.writeUInt32BE(lba, off + 2);
    buf.writeUInt16BE(parent, off + 6);
  } else {
    buf.writeUInt32LE(lba, off + 2);
    buf.writeUInt16LE(parent, off + 6);
  }
  identifier.copy(buf, off + 8);
  return pathRecordLength(identifier.length);
}

/** Writes `text` as space-padded bytes into a fixed-width field (a- or d-characters). */
export function writeField(buf: Buffer, off: number, width: number, text: string): void {
  buf.fill(0x20, off, off + width);
  buf.write(text.slice(0, width), off, 'latin1');
}

/** The same for Joliet descriptors: UCS-2 big-endian, padded with U+0020. */
export function writeFieldUcs2(buf: Buffer, off: number, width: number, text: string): void {
  for (let i = 0; i + 1 < width; i += 2) buf.writeUInt16BE(0x20, off + i);
  const units = Math.floor(width / 2);
  for (let i = 0; i < Math.min(units, text.length); i++) buf.writeUInt16BE(text.charCodeAt(i), off + 2 * i);
}

export function ucs2be(text: string): Buffer {
  const b = Buffer.alloc(text.length * 2);
  for (let i = 0; i < text.length; i++) b.writeUInt16BE(text.charCodeAt(i), 2 * i);
  return b;
}

export function fromUcs2be(b: Buffer): string {
  let s = '';
  for (let i = 0; i + 1 < b.length; i += 2) s += String.fromCharCode(b.readUInt16BE(i));
  return s;
}

export const sectorsFor = (bytes: number): number => Math.ceil(bytes / SECTOR);
