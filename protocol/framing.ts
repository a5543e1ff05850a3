import type { Stream } from '@libp2p/interface';
import { byteStream, type ByteStream } from '@libp2p/utils';

/**
 * Framing shared by every /lomo/* protocol: each message is an unsigned LEB128 varint length
 * followed by that many bytes. The decoder is a pure function of the bytes it is given (so the
 * fuzz test exercises exactly the code that runs on the wire) and never buffers more than
 * `maxFrame` + 10 bytes, whatever a peer sends.
 */

/** Default largest message: control messages are small; bulk data uses its own limit. */
export const DEFAULT_MAX_FRAME = 64 * 1024;
/** Default time a peer gets to deliver the next message before its stream is reset. */
export const DEFAULT_READ_TIMEOUT_MS = 15_000;
/** A varint longer than this cannot encode a length below 2^35 and is junk. */
const MAX_VARINT_BYTES = 5;

/** The peer broke the protocol (bad length, oversized or malformed message, wrong order). */
export class ProtocolViolation extends Error {
  override name = 'ProtocolViolation';
}

/** The peer was too slow: no complete message within the read timeout. */
export class ProtocolTimeout extends Error {
  override name = 'ProtocolTimeout';
}

export function encodeVarint(n: number): Uint8Array {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`cannot encode length ${n}`);
  const out: number[] = [];
  do {
    let b = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) b |= 0x80;
    out.push(b);
  } while (n > 0);
  return Uint8Array.from(out);
}

export function encodeFrame(body: Uint8Array): Uint8Array {
  const head = encodeVarint(body.length);
  const out = new Uint8Array(head.length + body.length);
  out.set(head, 0);
  out.set(body, head.length);
  return out;
}

/**
 * Incremental frame decoder. push() returns every frame completed by the new bytes and keeps the
 * remainder; it throws ProtocolViolation as soon as a length prefix is malformed or too large,
 * before buffering the oversized body.
 */
export class FrameDecoder {
  private buf: Uint8Array = new Uint8Array(0);

  constructor(readonly maxFrame: number = DEFAULT_MAX_FRAME) {}

  /** Bytes held waiting for the rest of a frame (bounded by maxFrame + MAX_VARINT_BYTES). */
  get buffered(): number {
    return this.buf.length;
  }

  push(chunk: Uint8Array): Uint8Array[] {
    const frames: Uint8Array[] = [];
    let data = this.buf.length === 0 ? chunk : concat(this.buf, chunk);
    let off = 0;
    for (;;) {
      const head = readVarint(data, off, this.maxFrame);
      if (head === null) break;
      const [len, headLen] = head;
      const start = off + headLen;
      if (data.length - start < len) break;
      frames.push(data.slice(start, start + len));
      off = start + len;
    }
    // Keep only the unfinished tail; slice() copies so a big chunk is not retained by reference.
    this.buf = off === data.length ? new Uint8Array(0) : data.slice(off);
    if (this.buf.length > this.maxFrame + MAX_VARINT_BYTES) {
      throw new ProtocolViolation(`frame buffer overflow (${this.buf.length} bytes)`);
    }
    data = new Uint8Array(0);
    return frames;
  }
}

/** [length, bytesUsed], or null if more bytes are needed. Throws on junk. */
function readVarint(data: Uint8Array, off: number, max: number): [number, number] | null {
  let n = 0;
  let mul = 1;
  for (let i = 0; i < MAX_VARINT_BYTES; i++) {
    if (off + i >= data.length) return null;
    const b = data[off + i]!;
    n += (b & 0x7f) * mul;
    mul *= 128;
    if ((b & 0x80) === 0) {
      if (i > 0 && b === 0) throw new ProtocolViolation('non-minimal length prefix');
      if (n > max) throw new ProtocolViolation(`message of ${n} bytes exceeds the limit of ${max}`);
      return [n, i + 1];
    }
  }
  throw new ProtocolViolation('length prefix too long');
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}

export interface FramedStreamOptions {
  maxFrame?: number;
  readTimeoutMs?: number;
}

/**
 * A libp2p v3 stream read and written as frames. Every read has a timeout (yamux does not
 * enforce inactivity), writes wait for `drain` (backpressure), and the byte buffer underneath is
 * capped just above one frame.
 */
export class FramedStream {
  private readonly bytes: ByteStream<Stream>;
  private readonly decoder: FrameDecoder;
  private readonly queue: Uint8Array[] = [];
  private readonly timeoutMs: number;

  constructor(
    readonly stream: Stream,
    opts: FramedStreamOptions = {},
  ) {
    const maxFrame = opts.maxFrame ?? DEFAULT_MAX_FRAME;
    this.decoder = new FrameDecoder(maxFrame);
    this.bytes = byteStream(stream, { maxBufferSize: maxFrame + 64 * 1024 });
    this.timeoutMs = opts.readTimeoutMs ?? DEFAULT_READ_TIMEOUT_MS;
  }

  /** The next frame, or null if the peer closed cleanly between frames. */
  async read(signal?: AbortSignal): Promise<Uint8Array | null> {
    const timeout = AbortSignal.timeout(this.timeoutMs);
    const sig = signal ? AbortSignal.any([signal, timeout]) : timeout;
    while (this.queue.length === 0) {
      let chunk;
      try {
        chunk = await this.bytes.read({ signal: sig });
      } catch (err) {
        if (timeout.aborted) throw new ProtocolTimeout(`no message within ${this.timeoutMs} ms`);
        throw err;
      }
      if (chunk === null) {
        if (this.decoder.buffered > 0) throw new ProtocolViolation('stream ended inside a message');
        return null;
      }
      for (const part of chunk) this.queue.push(...this.decoder.push(part));
    }
    return this.queue.shift()!;
  }

  /** Like read(), but the peer must send a message: end of stream is a violation. */
  async readRequired(what: string, signal?: AbortSignal): Promise<Uint8Array> {
    const frame = await this.read(signal);
    if (frame === null) throw new ProtocolViolation(`stream ended before ${what}`);
    return frame;
  }

  async write(body: Uint8Array, signal?: AbortSignal): Promise<void> {
    await this.bytes.write(encodeFrame(body), { signal: signal ?? AbortSignal.timeout(this.timeoutMs) });
  }

  /** Half-closes our side after everything written was sent. */
  async close(): Promise<void> {
    await this.stream.close({ signal: AbortSignal.timeout(this.timeoutMs) }).catch(() => this.stream.abort(new Error('close timed out')));
  }

  abort(err: Error): void {
    this.stream.abort(err);
  }
}

/** JSON message codec: a frame holds one UTF-8 JSON object; anything else is a violation. */
export function encodeJson(msg: unknown): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(msg));
}

export function decodeJsonObject(frame: Uint8Array): Record<string, unknown> {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(frame);
  } catch {
    throw new ProtocolViolation('message is not UTF-8');
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new ProtocolViolation('message is not JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ProtocolViolation('message is not a JSON object');
  }
  return value as Record<string, unknown>;
}
