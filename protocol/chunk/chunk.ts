import type { Connection, Stream } from '@libp2p/interface';
import { PeerStoreError, type PeerStoreReason } from '../../storage/peerstore/errors.js';
import type { ByteRange, PeerStore } from '../../storage/peerstore/store.js';
import { optUint, kind, str } from '../fields.js';
import { decodeJsonObject, encodeJson, FramedStream, ProtocolViolation } from '../framing.js';
import { ProtocolService, type ServiceComponents } from '../service.js';
import {
  ACK_TIMEOUT_MS,
  CHUNK_SPEC,
  FRAME_BYTES,
  FRAME_TIMEOUT_MS,
  MAX_CHUNK_BYTES,
  MAX_CONTROL_BYTES,
  MAX_FRAME_BYTES,
  MAX_OWNER_CHARS,
  MAX_PAUSED_BYTES,
  MAX_TRANSFER_MS,
  MAX_TRANSFERS_TOTAL,
} from './constants.js';

/**
 * One request per stream (docs/replication.md, "Chunk protocol"):
 *
 *   has  {t:'has', owner, sha}                 -> {t:'has', present}
 *   put  {t:'put', owner, sha, size}           -> {t:'go'} | {t:'ok', stored:false} | err
 *        after go: binary frames, `size` bytes -> {t:'ok', stored} | err      (after fsync)
 *   get  {t:'get', owner, sha, offset?, length?} -> {t:'ok', size} + binary frames | err
 *   drop {t:'drop', owner, sha}                -> {t:'dropped', present}   (the owner no longer needs it)
 *   err  {t:'err', reason, message}
 *
 * The holder streams a put's frames into PeerStore.put one at a time, its stream paused between
 * reads (FramedStream flowControl), so a sender faster than the holder's disk waits after one
 * yamux window: backpressure. It acknowledges only once the store has checked the hash and
 * fsynced. A peer may only put, get and test the chunks of the household it speaks for: its own
 * peer id, or the household it succeeded (`recover` on a new machine), as the holder's catalog
 * says through `householdOf`.
 */

/** Why a holder refused: the store's reason, or the protocol's own. */
export type ChunkRefusal =
  | PeerStoreReason
  /** owner is not the household the requesting peer speaks for */
  | 'forbidden'
  /** the holder is serving MAX_TRANSFERS_TOTAL transfers already: try later or elsewhere */
  | 'busy';

/** A holder's refusal, as the sender sees it: `reason` says whether to retry, re-send or plan elsewhere. */
export class ChunkRefused extends Error {
  override name = 'ChunkRefused';
  constructor(
    readonly reason: ChunkRefusal,
    message: string,
  ) {
    super(message);
  }
}

const SHA_HEX = /^[0-9a-f]{64}$/;
const MAX_MESSAGE_CHARS = 1024;

/**
 * The household a peer speaks for: its own peer id, or the origin of a household it succeeded
 * (storage/sitelog/succession.ts householdOf, given by the node so this module reads no catalog).
 */
export type HouseholdOf = (peerId: string) => string;

export class ChunkService extends ProtocolService {
  /** Puts and gets being served now, over all peers. */
  private transfers = 0;

  constructor(
    private readonly store: PeerStore,
    components: ServiceComponents,
    private readonly householdOf: HouseholdOf = (peerId) => peerId,
    /** Called before every put or get, either side (the node tunes V8's heap once: node/heap.ts). */
    private readonly onBulkTransfer: () => void = () => {},
  ) {
    super(CHUNK_SPEC, components);
  }

  // ---------------------------------------------------------------- holder side

  protected async handleStream(stream: Stream, connection: Connection): Promise<void> {
    const fs = framed(stream, FRAME_TIMEOUT_MS);
    const req = decodeJsonObject(await fs.readRequired('a chunk request'));
    const t = kind(req);
    if (t !== 'has' && t !== 'put' && t !== 'get' && t !== 'drop') throw new ProtocolViolation(`unknown chunk request ${JSON.stringify(t)}`);
    const owner = str(req, 'owner', MAX_OWNER_CHARS);
    const sha = shaField(req);
    const from = connection.remotePeer.toString();
    // A recovered household's new machine reaches the chunks its lost machine stored here.
    const household = this.householdOf(from);
    if (owner !== household) {
      return refuse(fs, 'forbidden', `${from} may only ${t} the chunks of its own household (${household}), not those of ${owner}`);
    }

    if (t === 'has') {
      await fs.write(encodeJson({ t: 'has', present: await this.store.has(owner, sha) }));
      return fs.close();
    }
    if (t === 'drop') {
      // The owner's staging chunk is archived in a volume now: its row, usage and file go.
      await fs.write(encodeJson({ t: 'dropped', present: await this.store.delete(owner, sha) }));
      return fs.close();
    }
    if (this.transfers >= MAX_TRANSFERS_TOTAL) return refuse(fs, 'busy', `already serving ${MAX_TRANSFERS_TOTAL} chunk transfers`);
    this.transfers++;
    this.onBulkTransfer();
    try {
      if (t === 'put') await this.servePut(fs, req, owner, sha);
      else await this.serveGet(fs, req, owner, sha);
    } finally {
      this.transfers--;
    }
  }

  private async servePut(fs: FramedStream, req: Record<string, unknown>, owner: string, sha: string): Promise<void> {
    const announced = optUint(req, 'size');
    if (announced === null) throw new ProtocolViolation('a put needs a size');
    const size: number = announced;
    if (size > MAX_CHUNK_BYTES) return refuse(fs, 'invalid', `a chunk of ${size} bytes exceeds the limit of ${MAX_CHUNK_BYTES}`);
    // Already held: acknowledged without a byte sent (a resumed transfer re-sends nothing).
    if (await this.store.has(owner, sha)) {
      await fs.write(encodeJson({ t: 'ok', stored: false }));
      return fs.close();
    }
    // Refused before the sender sends anything (the store checks again when it records).
    const u = this.store.usage(owner);
    if (u.quotaBytes !== null && u.usedBytes + size > u.quotaBytes) {
      return refuse(fs, 'quota', `quota of ${owner} exceeded: ${u.usedBytes} of ${u.quotaBytes} bytes used, ${size} more refused`);
    }
    await fs.write(encodeJson({ t: 'go' }));

    const deadline = AbortSignal.timeout(MAX_TRANSFER_MS);
    let received = 0;
    // A frame's payload as the pieces it arrived in (no joined copy): the store hashes and writes them.
    const readPiece = async (): Promise<Uint8Array[] | null> => {
      const f = await fs.readFrame(deadline);
      if (f === null) return null; // fewer bytes than announced: the store says size-mismatch
      if (f.type !== 'binary-parts') throw new ProtocolViolation('a put carries binary frames after go');
      if (received + f.length > size) throw new ProtocolViolation(`more than the announced ${size} bytes`);
      received += f.length;
      return f.parts;
    };
    async function* pieces(): AsyncGenerator<Uint8Array[]> {
      while (received < size) {
        const p = await readPiece();
        if (p === null) return;
        yield p;
      }
    }
    let reply: Record<string, unknown>;
    try {
      const { stored } = await this.store.put(owner, sha, size, pieces());
      reply = { t: 'ok', stored };
    } catch (err) {
      if (!(err instanceof PeerStoreError)) throw err;
      // The store stopped reading (disk full): read the rest, so the refusal is the next thing
      // the sender reads and the stream stays in step. Bounded by size <= MAX_CHUNK_BYTES.
      while (received < size && (await readPiece()) !== null);
      // This site's own disk is full: its user should hear it, not only the household refused.
      if (err.reason === 'disk-full') this.components.log.warn(`refused chunk ${sha} of ${owner} (${size} bytes): ${err.message}`);
      reply = errReply(err.reason, err.message);
    }
    await fs.write(encodeJson(reply));
    await fs.close();
  }

  private async serveGet(fs: FramedStream, req: Record<string, unknown>, owner: string, sha: string): Promise<void> {
    const offset = optUint(req, 'offset');
    const length = optUint(req, 'length');
    if ((offset === null) !== (length === null)) throw new ProtocolViolation('a range needs both offset and length');
    const range: ByteRange | undefined = offset === null ? undefined : { offset, length: length! };
    let bytes: Buffer;
    try {
      // The store reads the chunk whole to check its hash (a range is read alone): at most
      // MAX_CHUNK_BYTES per transfer, MAX_TRANSFERS_TOTAL transfers.
      bytes = await this.store.get(owner, sha, range);
    } catch (err) {
      if (!(err instanceof PeerStoreError)) throw err;
      // Found damaged now (the scrub had not come to it yet): said here as the scrub says it.
      if (err.reason === 'corrupt') this.components.log.warn(`hosted ${err.message} (asked for by its owner)`);
      return refuse(fs, err.reason, err.message);
    }
    await fs.write(encodeJson({ t: 'ok', size: bytes.length }));
    for (let off = 0; off < bytes.length; off += FRAME_BYTES) await fs.writeBinary(bytes.subarray(off, off + FRAME_BYTES));
    await fs.close();
  }

  // ---------------------------------------------------------------- sender side

  /** Whether `peerId` holds a chunk of `owner` (recorded and its file present; not re-hashed). */
  async has(peerId: string, owner: string, sha: string): Promise<boolean> {
    return this.exchange(peerId, FRAME_TIMEOUT_MS, async (fs) => {
      await fs.write(encodeJson({ t: 'has', owner, sha }));
      await fs.close();
      const r = await readReply(fs, 'the answer to has');
      if (kind(r) !== 'has' || typeof r.present !== 'boolean') throw new ProtocolViolation('expected {t: has, present}');
      return r.present;
    });
  }

  /** Asks `peerId` to delete a chunk of `owner` it keeps; whether it had it. */
  async drop(peerId: string, owner: string, sha: string): Promise<boolean> {
    return this.exchange(peerId, FRAME_TIMEOUT_MS, async (fs) => {
      await fs.write(encodeJson({ t: 'drop', owner, sha }));
      await fs.close();
      const r = await readReply(fs, 'the answer to drop');
      if (kind(r) !== 'dropped' || typeof r.present !== 'boolean') throw new ProtocolViolation('expected {t: dropped, present}');
      return r.present;
    });
  }

  /**
   * Sends a chunk to `peerId` to keep. Resolves only once the holder has verified and fsynced it
   * (`stored: false`: it held the chunk already and no byte was sent); rejects with ChunkRefused
   * naming the holder's reason otherwise. `source` is read piece by piece as the link allows;
   * each piece is copied into frames before the next is asked for, so its owner may free it then.
   */
  async put(peerId: string, owner: string, sha: string, size: number, source: Uint8Array | AsyncIterable<Uint8Array>): Promise<{ stored: boolean }> {
    this.onBulkTransfer();
    return this.exchange(peerId, ACK_TIMEOUT_MS, async (fs) => {
      await fs.write(encodeJson({ t: 'put', owner, sha, size }));
      const first = await readReply(fs, 'the answer to a put');
      if (kind(first) === 'ok') {
        // Held already: end our side too, or the half-open stream keeps counting against the
        // holder's maxInboundStreams (a resumed transfer reset every put after the fourth).
        await fs.close();
        return { stored: storedField(first) };
      }
      if (kind(first) !== 'go') throw new ProtocolViolation('expected go, ok or err');
      let sent = 0;
      // Each frame must be taken within FRAME_TIMEOUT_MS: one timer, restarted per frame (an
      // AbortSignal.timeout per frame made the GC threads cost as much CPU as the transfer).
      const stalled = new AbortController();
      const timer = setTimeout(() => stalled.abort(new Error(`the holder took no frame for ${FRAME_TIMEOUT_MS} ms`)), FRAME_TIMEOUT_MS);
      try {
        for await (const piece of framesOf(source)) {
          sent += piece.length;
          if (sent > size) throw new Error(`the source has more than the announced ${size} bytes`);
          timer.refresh();
          await fs.writeBinary(piece, stalled.signal);
        }
      } finally {
        clearTimeout(timer);
      }
      await fs.close(); // half-close: a short source ends here and the holder answers size-mismatch
      const ack = await readReply(fs, 'the acknowledgement of a put');
      if (kind(ack) !== 'ok') throw new ProtocolViolation('expected ok or err');
      return { stored: storedField(ack) };
    });
  }

  /** A chunk of `owner` from `peerId`, or `range` of it; checked by the holder when whole. */
  async get(peerId: string, owner: string, sha: string, range?: ByteRange): Promise<Buffer> {
    this.onBulkTransfer();
    return this.exchange(peerId, FRAME_TIMEOUT_MS, async (fs) => {
      await fs.write(encodeJson(range ? { t: 'get', owner, sha, offset: range.offset, length: range.length } : { t: 'get', owner, sha }));
      await fs.close();
      const head = await readReply(fs, 'the answer to a get');
      if (kind(head) !== 'ok') throw new ProtocolViolation('expected ok or err');
      const size = optUint(head, 'size');
      if (size === null || size > MAX_CHUNK_BYTES || (range && size !== range.length)) throw new ProtocolViolation(`bad size ${String(head.size)}`);
      const out = Buffer.allocUnsafe(size);
      let got = 0;
      while (got < size) {
        const f = await fs.readFrame();
        if (f === null) throw new ProtocolViolation(`the holder sent ${got} of ${size} bytes`);
        if (f.type !== 'binary-parts' || got + f.length > size) throw new ProtocolViolation('unexpected frame in a chunk');
        for (const part of f.parts) {
          out.set(part, got);
          got += part.length;
        }
      }
      return out;
    });
  }

  /** Opens a stream, runs one exchange, and resets the stream if the exchange fails. */
  private async exchange<T>(peerId: string, readTimeoutMs: number, run: (fs: FramedStream) => Promise<T>): Promise<T> {
    const stream = await this.openStream(peerId);
    try {
      return await run(framed(stream, readTimeoutMs));
    } catch (err) {
      // Also when framing it failed: a stream left open counts against maxOutboundStreams.
      stream.abort(err instanceof Error ? err : new Error(String(err)));
      throw err;
    }
  }
}

function framed(stream: Stream, readTimeoutMs: number): FramedStream {
  stream.maxReadBufferLength = MAX_PAUSED_BYTES;
  return new FramedStream(stream, { maxFrame: MAX_CONTROL_BYTES, maxBinary: MAX_FRAME_BYTES, readTimeoutMs, maxBuffered: MAX_PAUSED_BYTES, flowControl: true, binaryParts: true });
}

function shaField(req: Record<string, unknown>): string {
  const sha = str(req, 'sha', 64);
  if (!SHA_HEX.test(sha)) throw new ProtocolViolation('field sha must be 64 lower-case hex digits');
  return sha;
}

function errReply(reason: ChunkRefusal, message: string): Record<string, unknown> {
  return { t: 'err', reason, message: message.slice(0, MAX_MESSAGE_CHARS) };
}

async function refuse(fs: FramedStream, reason: ChunkRefusal, message: string): Promise<void> {
  await fs.write(encodeJson(errReply(reason, message)));
  await fs.close();
}

const REASONS: ReadonlySet<string> = new Set<ChunkRefusal>(['quota', 'disk-full', 'hash-mismatch', 'size-mismatch', 'corrupt', 'not-found', 'invalid', 'forbidden', 'busy']);

/** The next reply; an `err` becomes a ChunkRefused. */
async function readReply(fs: FramedStream, what: string): Promise<Record<string, unknown>> {
  const r = decodeJsonObject(await fs.readRequired(what));
  if (kind(r) === 'err') {
    const reason = str(r, 'reason', 32);
    if (!REASONS.has(reason)) throw new ProtocolViolation(`unknown refusal ${JSON.stringify(reason)}`);
    throw new ChunkRefused(reason as ChunkRefusal, str(r, 'message', MAX_MESSAGE_CHARS));
  }
  return r;
}

function storedField(r: Record<string, unknown>): boolean {
  if (typeof r.stored !== 'boolean') throw new ProtocolViolation('field stored must be a boolean');
  return r.stored;
}

/**
 * The source cut into binary frame payloads of FRAME_BYTES (the last one shorter). Large pieces
 * are cut into views; smaller ones (a file read stream yields 64 KiB) are gathered into one
 * FRAME_BYTES buffer first: each frame costs a yamux frame, a window update and a read and a
 * write on the holder, so fewer, fuller frames cost less CPU on both sides than the extra copy.
 */
async function* framesOf(source: Uint8Array | AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  let gather: Buffer | null = null;
  let filled = 0;
  for await (const piece of source instanceof Uint8Array ? [source] : source) {
    let off = 0;
    while (off < piece.length) {
      if (filled === 0 && piece.length - off >= FRAME_BYTES) {
        yield piece.subarray(off, off + FRAME_BYTES);
        off += FRAME_BYTES;
        continue;
      }
      gather ??= Buffer.allocUnsafe(FRAME_BYTES);
      const n = Math.min(FRAME_BYTES - filled, piece.length - off);
      gather.set(piece.subarray(off, off + n), filled);
      filled += n;
      off += n;
      if (filled === FRAME_BYTES) {
        // writeBinary copies the payload into its frame before it returns: the buffer is reused.
        yield gather;
        filled = 0;
      }
    }
  }
  if (filled > 0) yield gather!.subarray(0, filled);
}
