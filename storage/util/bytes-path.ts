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
 * For people: valid UTF-8 without control characters is shown as is (a backslash is an ordinary
 * character of a Linux name). Otherwise each byte of an invalid sequence and each control character
 * (a newline in a name must not break a listing into two lines) is shown as \xNN, and a backslash as
 * \\, and `fromDisplayPath` reads that form back. (A valid name whose text is literally "\xe9" looks
 * like the name with that byte; typed back, the literal one is tried first.)
 */
export function displayPath(b: Uint8Array | ByteString): string {
  const buf = typeof b === 'string' ? toBuffer(b) : Buffer.from(b.buffer, b.byteOffset, b.byteLength);
  const text = buf.toString('utf8');
  // eslint-disable-next-line no-control-regex
  const plain = !/[\u0000-\u001f\u007f]/.test(text);
  if (plain && (!text.includes('\uFFFD') || Buffer.from(text, 'utf8').equals(buf))) return text;
  let out = '';
  let i = 0;
  while (i < buf.length) {
    const len = utf8SeqLen(buf, i);
    const b0 = buf[i]!;
    if (len > 0 && b0 >= 0x20 && b0 !== 0x7f) {
      out += b0 === 0x5c ? '\\\\' : buf.subarray(i, i + len).toString('utf8');
      i += len;
    } else {
      out += `\\x${b0.toString(16).padStart(2, '0')}`;
      i += 1;
    }
  }
  return out;
}

/**
 * The bytes a path typed by a person may stand for: the text itself (UTF-8) and, when it contains
 * the escapes `displayPath` writes (\xNN, \\), the bytes those spell. Callers try them in order.
 */
export function fromDisplayPath(typed: string): Buffer[] {
  const literal = Buffer.from(typed, 'utf8');
  if (!/\\(x[0-9a-fA-F]{2}|\\)/.test(typed)) return [literal];
  const parts: Buffer[] = [];
  let i = 0;
  while (i < typed.length) {
    const m = /^\\(?:x([0-9a-fA-F]{2})|(\\))/.exec(typed.slice(i, i + 4));
    if (m) {
      parts.push(Buffer.from([m[1] ? parseInt(m[1], 16) : 0x5c]));
      i += m[0].length;
    } else {
      const cp = typed.codePointAt(i)!;
      const ch = String.fromCodePoint(cp);
      parts.push(Buffer.from(ch, 'utf8'));
      i += ch.length;
    }
  }
  const decoded = Buffer.concat(parts);
  return decoded.equals(literal) ? [literal] : [literal, decoded];
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
