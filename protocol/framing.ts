import type { Stream } from '@libp2p/interface';
import { byteStream, type ByteStream } from '@libp2p/utils';

/**
 * Framing shared by every /lomo/* protocol: each frame is an unsigned LEB128 varint length
 * followed by that many bytes of body. The first byte of the body is the frame type:
 *
 *   0x01        binary payload: the rest of the body is raw bytes (chunk data, speedtest filler)
 *   any other   control message: the whole body is one UTF-8 JSON object (so it starts with '{'
 *               0x7b; JSON text never starts with 0x01, so every frame of the earlier, JSON-only
 *               format is a control frame of this one: the wire stayed compatible)
 *
 * Each type has its own limit: control messages are small (DEFAULT_MAX_FRAME, raised per
 * protocol), binary payloads may be larger (`maxBinary`, 0 on protocols that carry none, which
 * then refuse a binary frame). The limits are checked on the header, before the body is
 * buffered: a length above both limits is refused as soon as the varint ends; a length above the
 * control limit waits for the one type byte after it and is refused unless it is binary. The
 * decoder is a pure function of the bytes it is given (so the fuzz test exercises exactly the code
 * that runs on the wire) and never holds more than max(maxFrame, maxBinary + 1) + 5 bytes,
 * whatever a peer sends.
 */

/** Default largest control message: control messages are small; bulk data uses binary frames. */
export const DEFAULT_MAX_FRAME = 64 * 1024;
/** Largest binary payload a protocol accepts unless it says otherwise (a chunk travels in pieces). */
export const DEFAULT_MAX_BINARY = 1024 * 1024;
/** Default time a peer gets to deliver the next message before its stream is reset. */
export const DEFAULT_READ_TIMEOUT_MS = 15_000;
/** Type byte of a binary frame (first byte of the body). */
export const FRAME_BINARY = 0x01;
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

/**
 * One decoded frame: a control message's JSON bytes, or a binary payload (type byte removed):
 * joined into one array, or (a decoder made with `binaryParts`) as the views of the received
 * pieces that hold it, in order.
 */
export type Frame =
  | { type: 'control'; body: Uint8Array }
  | { type: 'binary'; payload: Uint8Array }
  | { type: 'binary-parts'; parts: Uint8Array[]; length: number };

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

/** A control frame: `body` is the JSON message (see encodeJson). */
export function encodeFrame(body: Uint8Array): Uint8Array {
  const head = encodeVarint(body.length);
  const out = new Uint8Array(head.length + body.length);
  out.set(head, 0);
  out.set(body, head.length);
  return out;
}

/**
 * A binary frame: length (payload + 1) | 0x01 | payload. The payload may come in parts (whole
 * log entries, say): they are copied straight into the frame, with no joined copy in between.
 */
export function encodeBinaryFrame(payload: Uint8Array | readonly Uint8Array[]): Uint8Array {
  const parts = payload instanceof Uint8Array ? [payload] : payload;
  const length = parts.reduce((n, p) => n + p.length, 0);
  const head = encodeVarint(length + 1);
  const out = new Uint8Array(head.length + 1 + length);
  out.set(head, 0);
  out[head.length] = FRAME_BINARY;
  let at = head.length + 1;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/**
 * Incremental frame decoder. push() returns every frame completed by the new bytes and keeps the
 * remainder; it throws ProtocolViolation as soon as a header is malformed or announces more than
 * its type allows, before buffering the oversized body. Pieces of an unfinished frame are kept as
 * a list (copied once, so the network's buffers are not held by reference) and joined once, when
 * the frame is complete: a 1 MiB payload arriving in 64 KiB pieces costs two copies, not sixteen.
 */
export class FrameDecoder {
  private parts: Uint8Array[] = [];
  private size = 0;
  /** Largest body length any frame may announce. */
  readonly limit: number;

  /**
   * `binaryParts`: binary payloads come out as 'binary-parts' frames, views of the pushed pieces
   * with no joined copy, and pieces are kept as views, not copied. For a bulk receiver that
   * consumes a payload piece by piece (a chunk holder hashes and writes it): the join copied
   * every byte once more, and every byte allocated outside the heap brings V8's next full
   * collection closer (one per ~64 MB). The pieces must be the receiver's own (libp2p's
   * decrypted messages are, each at most 64 KiB, so a view holds little more than it shows).
   */
  constructor(
    readonly maxFrame: number = DEFAULT_MAX_FRAME,
    readonly maxBinary: number = 0,
    readonly binaryParts = false,
  ) {
    this.limit = Math.max(maxFrame, maxBinary > 0 ? maxBinary + 1 : 0);
  }

  /** Bytes held waiting for the rest of a frame (bounded by limit + MAX_VARINT_BYTES). */
  get buffered(): number {
    return this.size;
  }

  push(chunk: Uint8Array): Frame[] {
    if (chunk.length > 0) {
      this.parts.push(chunk);
      this.size += chunk.length;
    }
    const frames: Frame[] = [];
    for (;;) {
      const head = this.header();
      if (head === null) break;
      const [len, headLen] = head;
      if (this.size - headLen < len) break;
      if (this.binaryParts && len > 0 && this.peek(headLen + 1)[headLen] === FRAME_BINARY) {
        this.skip(headLen + 1);
        frames.push({ type: 'binary-parts', parts: this.takeViews(len - 1), length: len - 1 });
        continue;
      }
      this.skip(headLen);
      const body = this.take(len);
      frames.push(body.length > 0 && body[0] === FRAME_BINARY ? { type: 'binary', payload: body.subarray(1) } : { type: 'control', body });
    }
    // What is left of this chunk stays: copy it, so a view does not keep a big buffer alive.
    const last = this.parts.length - 1;
    if (!this.binaryParts && last >= 0 && this.parts[last]!.buffer === chunk.buffer) this.parts[last] = this.parts[last]!.slice();
    if (this.size > this.limit + MAX_VARINT_BYTES) {
      throw new ProtocolViolation(`frame buffer overflow (${this.size} bytes)`);
    }
    return frames;
  }

  /**
   * [body length, header length] of the next frame, or null while more bytes are needed. Checks
   * the length against the limits as early as the bytes allow (see the file comment).
   */
  private header(): [number, number] | null {
    const peek = this.peek(MAX_VARINT_BYTES + 1);
    const v = readVarint(peek, this.limit);
    if (v === null) return null;
    const [len, headLen] = v;
    if (len > 0 && peek.length > headLen) {
      if (peek[headLen] === FRAME_BINARY) {
        if (this.maxBinary === 0) throw new ProtocolViolation('binary frame on a protocol that carries none');
      } else if (len > this.maxFrame) {
        throw new ProtocolViolation(`control message of ${len} bytes exceeds the limit of ${this.maxFrame}`);
      }
    } else if (len > this.maxFrame) {
      return null; // only a binary frame may be this long: wait for its type byte
    }
    return v;
  }

  /** Up to n bytes from the front, without consuming them. */
  private peek(n: number): Uint8Array {
    const first = this.parts[0];
    if (first && first.length >= n) return first.subarray(0, n);
    const out = new Uint8Array(Math.min(n, this.size));
    let off = 0;
    for (const p of this.parts) {
      if (off === out.length) break;
      const k = Math.min(p.length, out.length - off);
      out.set(p.subarray(0, k), off);
      off += k;
    }
    return out;
  }

  /** Drops n bytes from the front. */
  private skip(n: number): void {
    this.size -= n;
    while (n > 0) {
      const p = this.parts[0]!;
      if (n >= p.length) {
        this.parts.shift();
        n -= p.length;
      } else {
        this.parts[0] = p.subarray(n);
        n = 0;
      }
    }
  }

  /** Removes n bytes from the front and returns them as views of the pieces that hold them. */
  private takeViews(n: number): Uint8Array[] {
    const out: Uint8Array[] = [];
    this.size -= n;
    while (n > 0) {
      const p = this.parts[0]!;
      if (p.length <= n) {
        out.push(p);
        this.parts.shift();
        n -= p.length;
      } else {
        out.push(p.subarray(0, n));
        this.parts[0] = p.subarray(n);
        n = 0;
      }
    }
    return out;
  }

  /** Removes n bytes from the front and returns them as a fresh array. */
  private take(n: number): Uint8Array {
    const out = new Uint8Array(n);
    let off = 0;
    while (off < n) {
      const p = this.parts[0]!;
      const k = Math.min(p.length, n - off);
      out.set(p.subarray(0, k), off);
      off += k;
      if (k === p.length) this.parts.shift();
      else this.parts[0] = p.subarray(k);
    }
    this.size -= n;
    return out;
  }
}

/** [length, bytesUsed], or null if more bytes are needed. Throws on junk. */
function readVarint(data: Uint8Array, max: number): [number, number] | null {
  let n = 0;
  let mul = 1;
  for (let i = 0; i < MAX_VARINT_BYTES; i++) {
    if (i >= data.length) return null;
    const b = data[i]!;
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

export interface FramedStreamOptions {
  /** Largest control message (default DEFAULT_MAX_FRAME). */
  maxFrame?: number;
  /** Largest binary payload; 0 (the default): this protocol carries no binary frames. */
  maxBinary?: number;
  readTimeoutMs?: number;
  /**
   * Cap of the byte buffer under the decoder (default: one frame + 64 KiB). Raised by a protocol
   * that pauses its stream (stream.pause()) and then receives what arrived meanwhile at once.
   */
  maxBuffered?: number;
  /**
   * Keep the stream paused except while a read waits for bytes. libp2p emits a stream's data as
   * it arrives and yamux re-opens the sender's window as soon as it is emitted, so a reader
   * slower than the link (a chunk holder writing to a slow disk) would buffer without bound;
   * paused, yamux sends no window update and the sender stops after one window. Costs window
   * updates per read: for bulk receivers only.
   */
  flowControl?: boolean;
  /** Binary payloads as 'binary-parts' frames, without joining them (see FrameDecoder). */
  binaryParts?: boolean;
}

/**
 * What a paused stream may still receive: the sender's yamux window (2 MiB in our node, at most
 * 16 MiB with yamux's defaults) plus one frame in flight. For `maxBuffered` of flow-controlled streams.
 */
export const PAUSED_BYTES = 16 * 1024 * 1024 + 1024 * 1024 + 64 * 1024;

/**
 * A libp2p v3 stream read and written as frames. Every read has a timeout (yamux does not
 * enforce inactivity), writes wait for `drain` (backpressure), and the byte buffer underneath is
 * capped just above one frame.
 */
export class FramedStream {
  private readonly bytes: ByteStream<Stream>;
  private readonly decoder: FrameDecoder;
  private readonly queue: Frame[] = [];
  private readonly timeoutMs: number;
  private readonly flowControl: boolean;
  /** The read timeout (armStall): its controller, its timer, and whether a read is waiting. */
  private stall: AbortController | null = null;
  private stallTimer: ReturnType<typeof setTimeout> | null = null;
  private reading = false;
  private join: { outer: AbortSignal; stall: AbortController; signal: AbortSignal } | null = null;

  constructor(
    readonly stream: Stream,
    opts: FramedStreamOptions = {},
  ) {
    this.decoder = new FrameDecoder(opts.maxFrame ?? DEFAULT_MAX_FRAME, opts.maxBinary ?? 0, opts.binaryParts ?? false);
    this.bytes = byteStream(stream, { maxBufferSize: Math.max(opts.maxBuffered ?? 0, this.decoder.limit + 64 * 1024) });
    this.timeoutMs = opts.readTimeoutMs ?? DEFAULT_READ_TIMEOUT_MS;
    this.flowControl = opts.flowControl ?? false;
    if (this.flowControl) stream.pause();
  }

  /** The next frame of either type, or null if the peer closed cleanly between frames. */
  async readFrame(signal?: AbortSignal): Promise<Frame | null> {
    if (this.queue.length > 0) return this.queue.shift()!;
    const stall = this.armStall();
    const sig = signal ? this.joined(signal, stall) : stall.signal;
    this.reading = true;
    try {
      while (this.queue.length === 0) {
        let chunk;
        if (this.flowControl && this.stream.readStatus === 'paused') this.stream.resume();
        try {
          chunk = await this.bytes.read({ signal: sig });
        } catch (err) {
          if (stall.signal.aborted) throw new ProtocolTimeout(`no message within ${this.timeoutMs} ms`);
          throw err;
        } finally {
          if (this.flowControl && this.stream.readStatus === 'readable') this.stream.pause();
        }
        if (chunk === null) {
          if (this.decoder.buffered > 0) throw new ProtocolViolation('stream ended inside a message');
          return null;
        }
        for (const part of chunk) this.queue.push(...this.decoder.push(part));
      }
    } finally {
      this.reading = false;
    }
    return this.queue.shift()!;
  }

  /**
   * Starts the read timeout: one timer per stream, restarted by each read (an AbortSignal.timeout
   * and an AbortSignal.any per read made a chunk holder's GC threads cost as much CPU as its
   * main thread). It fires timeoutMs after the read began, as a fresh timer would; between reads
   * it is left to run out and does nothing, and it is cleared when the stream closes, so that it
   * does not keep the stream alive. Its controller is replaced once it has fired.
   */
  private armStall(): AbortController {
    if (this.stall === null || this.stall.signal.aborted) this.stall = new AbortController();
    if (this.stallTimer === null) {
      const timer = setTimeout(() => {
        if (this.reading) this.stall?.abort(new ProtocolTimeout(`no message within ${this.timeoutMs} ms`));
      }, this.timeoutMs);
      timer.unref();
      this.stallTimer = timer;
      this.stream.addEventListener(
        'close',
        () => {
          clearTimeout(timer);
          if (this.stallTimer === timer) this.stallTimer = null;
        },
        { once: true },
      );
    } else this.stallTimer.refresh();
    return this.stall;
  }

  /** The caller's signal joined with the stall controller's, made once per pair (callers pass one deadline). */
  private joined(signal: AbortSignal, stall: AbortController): AbortSignal {
    if (this.join?.outer !== signal || this.join.stall !== stall) this.join = { outer: signal, stall, signal: AbortSignal.any([signal, stall.signal]) };
    return this.join.signal;
  }

  /** The next control message (its JSON bytes), or null at a clean end; a binary frame is a violation. */
  async read(signal?: AbortSignal): Promise<Uint8Array | null> {
    const frame = await this.readFrame(signal);
    if (frame === null) return null;
    if (frame.type !== 'control') throw new ProtocolViolation('expected a control message, got a binary frame');
    return frame.body;
  }

  /** Like read(), but the peer must send a message: end of stream is a violation. */
  async readRequired(what: string, signal?: AbortSignal): Promise<Uint8Array> {
    const frame = await this.read(signal);
    if (frame === null) throw new ProtocolViolation(`stream ended before ${what}`);
    return frame;
  }

  /** Sends one control message (JSON bytes from encodeJson). */
  async write(body: Uint8Array, signal?: AbortSignal): Promise<void> {
    await this.bytes.write(encodeFrame(body), { signal: signal ?? AbortSignal.timeout(this.timeoutMs) });
  }

  /** Sends one binary payload (or one made of these parts). */
  async writeBinary(payload: Uint8Array | readonly Uint8Array[], signal?: AbortSignal): Promise<void> {
    await this.bytes.write(encodeBinaryFrame(payload), { signal: signal ?? AbortSignal.timeout(this.timeoutMs) });
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
