/**
 * File names on Linux are bytes, not text: a name need not be valid UTF-8. The scanner keeps every
 * path as a "byte string" — a JS string whose char codes are the raw bytes (latin1), which is
 * lossless, cheap to compare and usable as a Map key — and turns it into a Buffer for fs calls
 * and for the catalog (BLOB columns).
 */
export type ByteString = string;

export const toBuffer = (s: ByteString): Buffer => Buffer.from(s, 'latin1');
export const fromBuffer = (b: Uint8Array): ByteString => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('latin1');

/**
 * For people: valid UTF-8 is shown as is; each byte of an invalid sequence is shown as \xNN so
 * that two different names never look the same.
 */
export function displayPath(b: Uint8Array | ByteString): string {
  const buf = typeof b === 'string' ? toBuffer(b) : Buffer.from(b.buffer, b.byteOffset, b.byteLength);
  const text = buf.toString('utf8');
  if (!text.includes('\uFFFD') || Buffer.from(text, 'utf8').equals(buf)) return text;
  let out = '';
  let i = 0;
  while (i < buf.length) {
    const len = utf8SeqLen(buf, i);
    if (len > 0) {
      out += buf.subarray(i, i + len).toString('utf8');
      i += len;
    } else {
      out += `\\x${buf[i]!.toString(16).padStart(2, '0')}`;
      i += 1;
    }
  }
  return out;
}

/** Length of the valid UTF-8 sequence starting at i, or 0 if the byte there does not start one. */
function utf8SeqLen(buf: Buffer, i: number): number {
  const b0 = buf[i]!;
  if (b0 < 0x80) return 1;
  let len: number;
  let min: number;
  if (b0 >= 0xc2 && b0 <= 0xdf) [len, min] = [2, 0x80];
  else if (b0 >= 0xe0 && b0 <= 0xef) [len, min] = [3, 0x800];
  else if (b0 >= 0xf0 && b0 <= 0xf4) [len, min] = [4, 0x10000];
  else return 0;
  if (i + len > buf.length) return 0;
  let cp = b0 & (0xff >> (len + 1));
  for (let k = 1; k < len; k++) {
    const b = buf[i + k]!;
    if ((b & 0xc0) !== 0x80) return 0;
    cp = (cp << 6) | (b & 0x3f);
  }
  if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0;
  return len;
}
