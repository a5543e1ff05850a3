import { createHash } from 'node:crypto';
import { Writable } from 'node:stream';
import type { SiteKeys } from '../crypto/keys.js';
import { OBJECT_ID_BYTES } from '../crypto/keys.js';
import type { Sodium } from '../crypto/sodium.js';
import { TierError, type ReservedObject, type Tier } from '../tiers/tier.js';
import { ObjectHashes } from './object-hashes.js';
import { domainOf, encryptChunk } from './chunk-codec.js';
import { defaultWorkers, EncryptPool, slotBytes, type ChunkResult } from './encrypt-pool.js';
import { DEFAULT_MESSAGE_SIZE, chooseChunkPlain, chunkKey, type ObjectKind } from './format.js';
import { merkleRoot } from './merkle.js';

/** What the catalog keeps about an object (and what a restore needs besides the passphrase). */
export interface ObjectRecord {
  objectId: Buffer;
  kind: ObjectKind;
  formatVersion: number;
  messageSize: number;
  chunkPlain: number;
  plainSize: number;
  plainSha256: Buffer;
  cipherSize: number;
  cipherSha256: Buffer;
  chunks: ChunkRecord[];
}

export interface ChunkRecord {
  index: number;
  size: number;
  sha256: Buffer;
  merkleRoot: Buffer;
}

export interface WriteObjectOptions {
  sodium: Sodium;
  keys: SiteKeys;
  tier: Tier;
  kind: ObjectKind;
  /** Upper bound of the plaintext size, to pick a chunk size that stays under 10,000 parts. */
  maxPlainSize?: number;
  messageSize?: number;
  /** Plaintext bytes per chunk (a multiple of messageSize); default from maxPlainSize. */
  chunkPlain?: number;
  /** Encryption worker threads; 0 encrypts on the calling thread (small objects). Default: defaultWorkers(). */
  workers?: number;
  /** Called after each chunk is stored (stores may finish out of order). */
  onChunk?: (c: ChunkRecord) => void;
  /** Called with the new object's id before anything is stored (to record it as pending). */
  onStart?: (objectId: Buffer) => void;
}

/**
 * A Writable that takes plaintext and stores it as one encrypted, chunked object in a tier:
 * plaintext (SHA-256) -> chunk slots -> (encryption workers) encrypt + Merkle root (+ the write
 * itself, into a local tier's reserved file) -> (hash worker, two chunks per pass) chunk SHA-256s
 * -> commit or tier.put, and the object's ciphertext SHA-256 on this thread, paired with the
 * plaintext hash (object-hashes.ts). Nothing plaintext touches the disk. Memory is bounded by
 * 2 x workers + 2 chunk slots; `result` resolves once every chunk is stored and verified by the tier.
 */
export class ObjectWriter extends Writable {
  readonly objectId: Buffer;
  readonly chunkPlain: number;
  readonly messageSize: number;
  readonly result: Promise<ObjectRecord>;

  /** Plaintext and object-ciphertext SHA-256s, paired (object-hashes.ts). */
  private readonly hashes = new ObjectHashes();
  /** A chunk waiting for a second one, so the hash worker can hash the two in one pass. */
  private pendingChunkHash: Stored | null = null;
  /** Chunk hashes asked of the hash worker and not answered yet. */
  private chunkHashesInFlight = 0;
  /** Chunks handed to the encryption workers and not back yet. */
  private inWorkers = 0;
  private lastDispatched = false;
  private readonly pool: EncryptPool | null;
  private readonly key: Uint8Array;
  /**
   * Fixed buffers, allocated once: slot i holds a plaintext chunk, then (encrypted in place) its
   * ciphertext. With workers a slot's ArrayBuffer is transferred to the workers and back — moved,
   * never copied or reallocated (per-chunk buffers made V8's major GCs the largest CPU cost; shared
   * memory does not work with sodium-native, encrypt-pool.ts). A slot is free again once its chunk
   * is in the object hash and, unless a worker wrote it into a reserved file, stored.
   */
  private readonly slots: { buf: ArrayBuffer | null; plain: Buffer }[];
  private readonly freeSlots: number[];
  private curSlot: number;
  private curLen = 0;
  private nextIndex = 0;
  private plainSize = 0;
  private cipherSize = 0;
  private readonly chunks: ChunkRecord[] = [];
  /** Results by index, waiting for their turn to be stored. */
  private readonly done = new Map<number, ChunkResult & { cipher?: Buffer; slot: number }>();
  private nextToStore = 0;
  /** Puts in progress (they run concurrently; hashing and the chunk list stay in order). */
  private readonly puts = new Set<Promise<void>>();
  /** Reserved files (local tiers) of chunks not committed yet, by index. */
  private readonly reserved = new Map<number, ReservedObject>();
  /** Keys stored so far: removed again if the object fails (best effort). */
  private readonly stored: string[] = [];
  private slotWaiters: (() => void)[] = [];
  private failure: Error | null = null;
  private usedReservations = false;
  private settle!: { resolve: (r: ObjectRecord) => void; reject: (e: Error) => void };

  constructor(private readonly o: WriteObjectOptions) {
    super({ highWaterMark: 1024 * 1024 });
    this.messageSize = o.messageSize ?? DEFAULT_MESSAGE_SIZE;
    this.chunkPlain = o.chunkPlain ?? chooseChunkPlain(o.maxPlainSize ?? 0, this.messageSize);
    if (this.chunkPlain % this.messageSize !== 0) throw new Error('chunk plaintext size must be a multiple of the message size');
    this.objectId = Buffer.from(o.sodium.randomBytes(OBJECT_ID_BYTES));
    this.key = o.keys.objectKey(domainOf(o.kind), this.objectId);
    o.onStart?.(this.objectId);
    const workers = o.workers ?? defaultWorkers();
    if (workers > 0) {
      // Workers busy (up to 2 chunks each in flight), one filling, one spare for the chunks that
      // wait for the ordered object hash or (without a reservation) their put. A third spare was
      // 1% faster and 10 MB more memory; when the slots run out the writer hashes the oldest
      // waiting chunk alone rather than wait (docs/crypto-format.md §8).
      const n = workers * 2 + 2;
      // Encryption is in place: the plaintext sits at the end of the slot, the ciphertext grows
      // from its start and never overtakes the plaintext still to be read (encrypt-pool.ts).
      const bytes = slotBytes(this.chunkPlain, this.messageSize);
      this.slots = Array.from({ length: n }, () => {
        const buf = new ArrayBuffer(bytes);
        return { buf, plain: Buffer.from(buf, bytes - this.chunkPlain, this.chunkPlain) };
      });
      this.pool = new EncryptPool(
        workers,
        { key: this.key, objectId: this.objectId, kind: o.kind, messageSize: this.messageSize, chunkPlain: this.chunkPlain },
        o.sodium.backend,
      );
    } else {
      this.slots = [{ buf: null, plain: Buffer.alloc(Math.min(this.chunkPlain, Math.max(o.maxPlainSize ?? 65536, 1))) }];
      this.pool = null;
    }
    this.freeSlots = this.slots.map((_, i) => i).reverse();
    this.curSlot = this.freeSlots.pop()!;
    this.result = new Promise((resolve, reject) => (this.settle = { resolve, reject }));
    this.result.catch(() => {}); // the caller may only listen to 'error'
    this.on('error', (e) => this.abort(e));
  }

  get objectIdHex(): string {
    return this.objectId.toString('hex');
  }

  override _write(data: Buffer, _enc: BufferEncoding, cb: (e?: Error | null) => void): void {
    this.consume(data).then(() => cb(), cb);
  }

  override _final(cb: (e?: Error | null) => void): void {
    this.finish().then(() => cb(), cb);
  }

  override _destroy(err: Error | null, cb: (e?: Error | null) => void): void {
    if (err) this.abort(err);
    void this.pool?.close();
    cb(err);
  }

  private get cur(): Buffer {
    return this.slots[this.curSlot]!.plain;
  }

  private async consume(data: Buffer): Promise<void> {
    this.hashes.addPlaintext(data);
    this.plainSize += data.length;
    let off = 0;
    while (off < data.length) {
      if (this.failure) throw this.failure;
      // A full chunk is sent only when more bytes arrive, so the final chunk is never full-size.
      if (this.curLen === this.chunkPlain) await this.dispatch(false);
      if (this.cur.length < this.chunkPlain && this.curLen + (data.length - off) > this.cur.length) this.growInline(this.curLen + data.length - off);
      const n = Math.min(data.length - off, this.chunkPlain - this.curLen);
      data.copy(this.cur, this.curLen, off, off + n);
      this.curLen += n;
      off += n;
    }
  }

  /**
   * The fast path for producers that can write into caller-owned buffers (the ISO writer's
   * cursor): `fill` writes the next plaintext bytes straight into a chunk slot and returns how many
   * (fewer than asked only at the end). No intermediate buffers, no copies, no garbage. Use this
   * instead of writing to the stream, not in addition.
   */
  async pullFrom(fill: (buf: Buffer) => Promise<number>, signal?: AbortSignal): Promise<ObjectRecord> {
    return this.pull(fill, signal);
  }

  /**
   * `pullFrom` for a synchronous producer (the ISO cursor's fillSync): the plaintext is read on
   * this thread in pieces of PIECE bytes and hashed right after each read, while the piece is still
   * in this core's cache (reads in the thread pool cost a second copy from memory); the event loop
   * gets a turn after every chunk.
   */
  async pullFromSync(fill: (buf: Buffer) => number, signal?: AbortSignal): Promise<ObjectRecord> {
    return this.pull(fill, signal, PIECE);
  }

  private async pull(fill: (buf: Buffer) => number | Promise<number>, signal: AbortSignal | undefined, piece = Infinity): Promise<ObjectRecord> {
    try {
      for (;;) {
        if (this.failure) throw this.failure;
        signal?.throwIfAborted();
        if (this.curLen === this.cur.length && this.cur.length < this.chunkPlain) this.growInline(this.curLen + 1);
        const room = this.cur.subarray(this.curLen, Math.min(this.chunkPlain, this.curLen + piece));
        const got = fill(room);
        const n = typeof got === 'number' ? got : await got;
        if (n > 0) {
          this.hashes.addPlaintext(room.subarray(0, n));
          this.plainSize += n;
          this.curLen += n;
        }
        // A full chunk is never the last one (format.ts), so it can go at once.
        if (this.curLen === this.chunkPlain) {
          await this.dispatch(false);
          if (piece !== Infinity) await new Promise((r) => setImmediate(r));
        } else if (n < room.length) break;
      }
      await this.finish();
    } catch (e) {
      this.abort(e as Error);
      throw e;
    }
    return this.result;
  }

  /** The inline (small object) buffer starts at the expected size and grows up to one chunk. */
  private growInline(need: number): void {
    const bigger = Buffer.alloc(Math.min(this.chunkPlain, Math.max(need, this.cur.length * 2)));
    this.cur.copy(bigger, 0, 0, this.curLen);
    this.slots[this.curSlot]!.plain = bigger;
  }

  private async finish(): Promise<void> {
    if (this.curLen === this.chunkPlain) await this.dispatch(false);
    await this.dispatch(true);
    await this.drain();
  }

  /** Waits until every chunk is hashed and stored, then resolves `result`. */
  private async drain(): Promise<void> {
    for (;;) {
      if (this.failure) break;
      this.flushPendingChunkHash();
      this.hashes.flushCiphertext(); // no plaintext left to pair it with
      if (this.nextToStore === this.nextIndex && this.chunkHashesInFlight === 0 && this.hashes.waiting === 0) break;
      await new Promise<void>((r) => this.slotWaiters.push(r));
    }
    await Promise.all(this.puts);
    if (this.failure) throw this.failure;
    if (this.usedReservations) await this.o.tier.syncPrefix?.(this.objectIdHex);
    await this.pool?.close();
    const { plainSha256, cipherSha256 } = this.hashes.digests();
    this.settle.resolve({
      objectId: this.objectId,
      kind: this.o.kind,
      formatVersion: 1,
      messageSize: this.messageSize,
      chunkPlain: this.chunkPlain,
      plainSize: this.plainSize,
      plainSha256,
      cipherSize: this.cipherSize,
      cipherSha256,
      chunks: this.chunks,
    });
  }

  private async dispatch(last: boolean): Promise<void> {
    if (this.failure) throw this.failure;
    const index = this.nextIndex++;
    const slot = this.curSlot;
    const plainLen = this.curLen;
    this.curLen = 0;
    if (this.pool) {
      const s = this.slots[slot]!;
      const buf = s.buf!;
      s.buf = null;
      await this.send(index, slot, buf, plainLen, last);
      if (last) {
        this.lastDispatched = true;
        return;
      }
      while (this.freeSlots.length === 0 && !this.failure) {
        // Every slot is taken: free the oldest by hashing it alone rather than wait for plaintext.
        if (this.hashes.waiting > 0) {
          this.hashes.flushCiphertext(1);
          continue;
        }
        this.flushPendingChunkHash();
        await new Promise<void>((r) => this.slotWaiters.push(r));
      }
      if (this.failure) throw this.failure;
      this.curSlot = this.freeSlots.pop()!;
    } else {
      if (last) this.lastDispatched = true;
      const r = this.encryptHere(index, this.cur.subarray(0, plainLen), last);
      this.done.set(index, { ...r, slot: -1 });
      this.storeReady();
      await Promise.all(this.puts); // the plaintext buffer is free again: encryption copied it
      if (this.failure) throw this.failure;
    }
  }

  /** Reserves the chunk's file (local tiers) and hands the chunk to the pool. */
  private async send(index: number, slot: number, buf: ArrayBuffer, plainLen: number, last: boolean): Promise<void> {
    if (this.failure) throw this.failure;
    // A local tier lends the worker a file to write the ciphertext into as it is produced.
    let fd = -1;
    if (this.o.tier.reserve) {
      const r = await this.o.tier.reserve(chunkKey(this.objectIdHex, index));
      if (this.failure) {
        await r.abort();
        throw this.failure;
      }
      this.reserved.set(index, r);
      this.usedReservations = true;
      fd = r.fd;
    }
    this.inWorkers++;
    this.pool!.encrypt({ index, plainLen, last, buf, fd }).then(
      (r) => {
        this.inWorkers--;
        this.slots[slot]!.buf = r.buf!;
        this.done.set(r.index, { index: r.index, cipherLen: r.cipherLen, sha256: r.sha256, merkleRoot: r.merkleRoot, slot });
        this.storeReady();
      },
      (e) => this.abort(workerError(e as Error & { code?: string }, `${this.o.tier.url}/${chunkKey(this.objectIdHex, index)}`)),
    );
  }

  private encryptHere(index: number, plain: Buffer, last: boolean): ChunkResult & { cipher: Buffer } {
    const p = { kind: this.o.kind, objectId: this.objectId, messageSize: this.messageSize, chunkPlain: this.chunkPlain };
    const cipher = encryptChunk(this.o.sodium, this.key, p, index, plain, last);
    return { index, cipherLen: cipher.length, cipher, sha256: createHash('sha256').update(cipher).digest(), merkleRoot: merkleRoot(cipher) };
  }

  /**
   * Takes finished chunks strictly in index order (the object hash and the chunk list need order):
   * pool chunks go to the hash worker two at a time for their own SHA-256s, then into the queue of
   * the object hash and to the tier; inline chunks are hashed and put at once. Puts may overlap: a
   * slow fsync on one chunk does not stall the workers.
   */
  private storeReady(): void {
    for (let r = this.done.get(this.nextToStore); r && !this.failure; r = this.done.get(this.nextToStore)) {
      this.done.delete(this.nextToStore);
      this.nextToStore++;
      const rec: ChunkRecord = { index: r.index, size: r.cipherLen, sha256: r.sha256 ?? Buffer.alloc(0), merkleRoot: r.merkleRoot };
      this.chunks.push(rec);
      this.cipherSize += r.cipherLen;
      // The reservation stays in `reserved` until its commit starts, so that a failure meanwhile
      // (abort) still removes its temporary file.
      const item: Stored = { rec, slot: r.slot, reservation: this.reserved.get(r.index) ?? null, key: chunkKey(this.objectIdHex, r.index) };
      if (this.pool && r.slot >= 0) {
        if (this.pendingChunkHash) {
          const first = this.pendingChunkHash;
          this.pendingChunkHash = null;
          this.hashChunks([first, item]);
        } else this.pendingChunkHash = item;
        this.flushPendingChunkHash();
      } else {
        this.hashes.addCiphertextNow(r.cipher!);
        this.track(this.o.tier.put(item.key, r.cipher!, { size: r.cipher!.length, sha256: rec.sha256.toString('hex') }), rec, item.key);
      }
    }
  }

  /**
   * Sends a chunk that waits for a partner alone when none can come soon: at the end, or when no
   * chunk is left in the encryption workers (this thread may be waiting for the very slot it holds).
   */
  private flushPendingChunkHash(): void {
    const p = this.pendingChunkHash;
    if (!p) return;
    if (this.inWorkers === 0 || (this.lastDispatched && this.nextToStore === this.nextIndex)) {
      this.pendingChunkHash = null;
      this.hashChunks([p]);
    }
  }

  /** The chunks' own SHA-256s on the hash worker; then each joins the object hash queue and is stored. */
  private hashChunks(items: Stored[]): void {
    const bufs = items.map((it) => {
      const s = this.slots[it.slot]!;
      const buf = s.buf!;
      s.buf = null;
      return { buf, len: it.rec.size };
    });
    this.chunkHashesInFlight++;
    this.pool!.hashChunks(bufs).then(
      (results) => {
        this.chunkHashesInFlight--;
        if (this.failure) return; // abort() removes their reservations (still in `reserved`)
        results.forEach((res, i) => {
          const it = items[i]!;
          const s = this.slots[it.slot]!;
          s.buf = res.buf;
          s.plain = Buffer.from(res.buf, res.buf.byteLength - this.chunkPlain, this.chunkPlain);
          it.rec.sha256 = res.sha256;
          const cipher = Buffer.from(res.buf, 0, it.rec.size);
          // The slot is free once the chunk is in the object hash and stored (a reserved chunk is
          // already written: its commit needs only the file).
          let hashed = false;
          let kept = it.reservation !== null;
          const release = () => {
            if (hashed && kept) this.releaseSlot(it.slot);
          };
          this.hashes.addCiphertext(cipher, () => ((hashed = true), release()));
          this.reserved.delete(it.rec.index);
          const put = it.reservation
            ? it.reservation.commit({ size: it.rec.size, sha256: it.rec.sha256.toString('hex') })
            : this.o.tier.put(it.key, cipher, { size: cipher.length, sha256: it.rec.sha256.toString('hex') }).then(() => ((kept = true), release()));
          this.track(put, it.rec, it.key);
        });
        this.slotWaiters.splice(0).forEach((w) => w());
      },
      (e) => {
        this.chunkHashesInFlight--;
        this.abort(e as Error); // its reservations are still in `reserved`
      },
    );
  }

  /** Follows one chunk's store: on success it counts as stored, on failure the object fails. */
  private track(put: Promise<unknown>, rec: ChunkRecord, key: string): void {
    const tracked: Promise<void> = put.then(
      () => {
        this.puts.delete(tracked);
        this.stored.push(key);
        this.o.onChunk?.(rec);
        this.slotWaiters.splice(0).forEach((w) => w());
      },
      (e) => {
        this.puts.delete(tracked);
        this.abort(e as Error);
      },
    );
    this.puts.add(tracked);
  }

  private releaseSlot(slot: number): void {
    this.freeSlots.push(slot);
    this.slotWaiters.splice(0).forEach((w) => w());
  }

  private abort(e: Error): void {
    if (this.failure) return;
    this.failure = e;
    this.settle.reject(e);
    this.slotWaiters.splice(0).forEach((w) => w());
    // Leave nothing behind: once the workers are stopped (they may still be writing into reserved
    // files; closing those earlier could hand their descriptor numbers to other files), remove
    // the reserved temporaries and, after the puts in flight, the chunks already stored.
    const reserved = this.reserved;
    void (async () => {
      await this.pool?.close().catch(() => {});
      await Promise.allSettled([...reserved.values()].map((r) => r.abort()));
      await Promise.allSettled([...this.puts]);
      await Promise.allSettled(this.stored.map((k) => this.o.tier.delete(k)));
    })();
  }
}

/** A finished chunk on its way to the object hash and the tier. */
interface Stored {
  rec: ChunkRecord;
  slot: number;
  reservation: ReservedObject | null;
  key: string;
}

/** Plaintext bytes read per fillSync call: small enough to stay in L2 until hashed. */
const PIECE = 256 * 1024;

/** A failure inside a worker: disk errors (its writes into a reserved file) become tier errors. */
function workerError(e: Error & { code?: string }, where: string): Error {
  if (!e.code) return e;
  const kind = e.code === 'ENOSPC' || e.code === 'EDQUOT' ? 'quota' : e.code === 'EACCES' || e.code === 'EPERM' ? 'auth' : 'unavailable';
  return new TierError(`cannot write ${where}: ${e.code}${kind === 'quota' ? ' (the disk is full: free some space, then run the command again)' : ''}`, kind, e);
}

/** Encrypts a whole in-memory plaintext (manifests, tests) into an object. */
export async function writeObject(o: WriteObjectOptions, plain: Buffer): Promise<ObjectRecord> {
  const w = new ObjectWriter({ workers: 0, ...o });
  await new Promise<void>((resolve, reject) => {
    w.on('error', reject);
    w.end(plain, () => resolve());
  });
  return w.result;
}
