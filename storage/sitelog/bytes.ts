import { SiteLogError } from './errors.js';

/**
 * Fixed-layout little-endian fields for site log entries and bodies (docs/sitelog-format.md §2).
 * The reader checks every length against what is left before it slices, never allocates from a
 * length it has not checked, and `end()` refuses trailing bytes: a canonical encoding has exactly
 * one byte string per value, so two encodings of one entry cannot hash differently.
 */
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

export class ByteWriter {
  private parts: Buffer[] = [];
  private n = 0;

  private push(b: Buffer): this {
    this.parts.push(b);
    this.n += b.length;
    return this;
  }

  u8(v: number): this {
    return this.push(Buffer.of(checkUint(v, 0xff)));
  }
  u16(v: number): this {
    const b = Buffer.alloc(2);
    b.writeUInt16LE(checkUint(v, 0xffff));
    return this.push(b);
  }
  u32(v: number): this {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(checkUint(v, 0xffffffff));
    return this.push(b);
  }
  /** Unsigned 64-bit, limited to 2^53-1 (JavaScript's safe integers) — sizes, times, sequences. */
  u64(v: number): this {
    const b = Buffer.alloc(8);
    b.writeBigUInt64LE(BigInt(checkUint(v, Number.MAX_SAFE_INTEGER)));
    return this.push(b);
  }
  fixed(b: Uint8Array, len: number): this {
    if (b.length !== len) throw new SiteLogError('malformed', `a field of ${len} bytes was given ${b.length}`);
    return this.push(Buffer.from(b));
  }
  /** u8 length then the bytes. */
  bytes8(b: Uint8Array, max: number): this {
    if (b.length > max) throw new SiteLogError('malformed', `a field of at most ${max} bytes was given ${b.length}`);
    return this.u8(b.length).push(Buffer.from(b));
  }
  /** u16 length then UTF-8. */
  text16(s: string, max: number): this {
    const b = Buffer.from(s, 'utf8');
    if (b.length > max) throw new SiteLogError('malformed', `a text of at most ${max} bytes was given ${b.length}`);
    return this.u16(b.length).push(b);
  }
  raw(b: Uint8Array): this {
    return this.push(Buffer.from(b));
  }
  get length(): number {
    return this.n;
  }
  done(): Buffer {
    return Buffer.concat(this.parts, this.n);
  }
}

function checkUint(v: number, max: number): number {
  if (!Number.isSafeInteger(v) || v < 0 || v > max) throw new SiteLogError('malformed', `integer out of range: ${v}`);
  return v;
}

export class ByteReader {
  private at = 0;
  constructor(
    private readonly buf: Buffer,
    private readonly what: string,
  ) {}

  private take(n: number): Buffer {
    if (n > this.buf.length - this.at) throw new SiteLogError('malformed', `${this.what}: truncated (needs ${n} more bytes at offset ${this.at})`);
    const b = this.buf.subarray(this.at, this.at + n);
    this.at += n;
    return b;
  }
  u8(): number {
    return this.take(1)[0]!;
  }
  u16(): number {
    return this.take(2).readUInt16LE(0);
  }
  u32(): number {
    return this.take(4).readUInt32LE(0);
  }
  u64(): number {
    const v = this.take(8).readBigUInt64LE(0);
    if (v > MAX_SAFE) throw new SiteLogError('malformed', `${this.what}: a 64-bit field exceeds 2^53-1`);
    return Number(v);
  }
  fixed(len: number): Buffer {
    return this.take(len);
  }
  bytes8(max: number): Buffer {
    const n = this.u8();
    if (n > max) throw new SiteLogError('malformed', `${this.what}: a field of ${n} bytes exceeds ${max}`);
    return this.take(n);
  }
  text16(max: number): string {
    const n = this.u16();
    if (n > max) throw new SiteLogError('malformed', `${this.what}: a text of ${n} bytes exceeds ${max}`);
    const b = this.take(n);
    const s = b.toString('utf8');
    // Only valid UTF-8 round-trips; anything else would have two encodings of one string.
    if (!Buffer.from(s, 'utf8').equals(b)) throw new SiteLogError('malformed', `${this.what}: a text is not valid UTF-8`);
    return s;
  }
  rest(): Buffer {
    return this.take(this.buf.length - this.at);
  }
  get remaining(): number {
    return this.buf.length - this.at;
  }
  end(): void {
    if (this.at !== this.buf.length) throw new SiteLogError('malformed', `${this.what}: ${this.buf.length - this.at} trailing bytes`);
  }
}

export const isZero = (b: Uint8Array): boolean => b.every((x) => x === 0);
