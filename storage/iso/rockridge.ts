/**
 * System Use Sharing Protocol (SUSP 1.12) and Rock Ridge (RRIP 1.10, "RRIP_1991A") entries: the
 * POSIX layer on top of ISO 9660 that carries the original name bytes (NM), mode/links (PX) and
 * times (TF). We emit the 1.10 forms (36-byte PX, no RR entry) because every reader accepts them.
 * Names too long for the 255-byte directory record go to a Continuation Area (CE).
 */
import { writeBoth32, writeDate7 } from './ecma119.js';

export const SP_LEN = 7;
export const PX_LEN = 36;
export const TF_LEN = 5 + 3 * 7;
export const CE_LEN = 28;
const NM_MAX_CHUNK = 250;

const ER_ID = 'RRIP_1991A';
const ER_DES = 'THE ROCK RIDGE INTERCHANGE PROTOCOL PROVIDES SUPPORT FOR POSIX FILE SYSTEM SEMANTICS';
const ER_SRC =
  'PLEASE CONTACT DISC PUBLISHER FOR SPECIFICATION SOURCE.  SEE PUBLISHER IDENTIFIER IN PRIMARY VOLUME DESCRIPTOR FOR CONTACT INFORMATION.';

function header(sig: string, len: number): Buffer {
  const b = Buffer.alloc(len);
  b.write(sig, 0, 'latin1');
  b[2] = len;
  b[3] = 1;
  return b;
}

/** SP: marks the root "." record as using SUSP; must come first in its system use area. */
export function sp(): Buffer {
  const b = header('SP', SP_LEN);
  b[4] = 0xbe;
  b[5] = 0xef;
  b[6] = 0;
  return b;
}

/** ER: names the extension (Rock Ridge) so readers that check for it enable it. */
export function er(): Buffer {
  const len = 8 + ER_ID.length + ER_DES.length + ER_SRC.length;
  const b = header('ER', len);
  b[4] = ER_ID.length;
  b[5] = ER_DES.length;
  b[6] = ER_SRC.length;
  b[7] = 1;
  b.write(ER_ID + ER_DES + ER_SRC, 8, 'latin1');
  return b;
}

export function px(mode: number, nlink: number): Buffer {
  const b = header('PX', PX_LEN);
  writeBoth32(b, 4, mode >>> 0);
  writeBoth32(b, 12, nlink);
  writeBoth32(b, 20, 0); // uid 0 / gid 0: images are restored by whoever extracts them
  writeBoth32(b, 28, 0);
  return b;
}

/** TF with modify, access and attribute-change times, all set to the file's mtime. */
export function tf(mtimeMs: number): Buffer {
  const b = header('TF', TF_LEN);
  b[4] = 0x02 | 0x04 | 0x08;
  writeDate7(b, 5, mtimeMs);
  writeDate7(b, 12, mtimeMs);
  writeDate7(b, 19, mtimeMs);
  return b;
}

/** NM entries for a name: chunks of at most 250 bytes, all but the last flagged CONTINUE. */
export function nm(name: Buffer): Buffer {
  const parts: Buffer[] = [];
  for (let off = 0; off < name.length || off === 0; off += NM_MAX_CHUNK) {
    const chunk = name.subarray(off, off + NM_MAX_CHUNK);
    const b = header('NM', 5 + chunk.length);
    b[4] = off + NM_MAX_CHUNK < name.length ? 0x01 : 0;
    chunk.copy(b, 5);
    parts.push(b);
    if (name.length === 0) break;
  }
  return Buffer.concat(parts);
}

export function ce(lba: number, offset: number, length: number): Buffer {
  const b = header('CE', CE_LEN);
  writeBoth32(b, 4, lba);
  writeBoth32(b, 12, offset);
  writeBoth32(b, 20, length);
  return b;
}

export interface SuspEntry {
  sig: string;
  data: Buffer;
}

/** Splits a system use area into entries; stops at padding or a malformed length. */
export function parseSusp(area: Buffer, skip = 0): SuspEntry[] {
  const out: SuspEntry[] = [];
  let off = skip;
  while (off + 4 <= area.length) {
    const len = area[off + 2]!;
    if (len < 4 || off + len > area.length) break;
    out.push({ sig: area.toString('latin1', off, off + 2), data: area.subarray(off, off + len) });
    off += len;
  }
  return out;
}
