import { createHash, type Hash } from 'node:crypto';
import { Writable } from 'node:stream';
import type { SiteKeys } from '../crypto/keys.js';
import { OBJECT_ID_BYTES } from '../crypto/keys.js';
import type { Sodium } from '../crypto/sodium.js';
import type { Tier } from '../tiers/tier.js';
import { domainOf, encryptChunk } from './chunk-codec.js';
import { EncryptPool, type ChunkResult } from './encrypt-pool.js';
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
  /** Encryption worker threads; 0 encrypts on the calling thread (small objects). Default 2. */
  workers?: number;
  /** Called after each chunk is stored, in order. */
  onChunk?: (c: ChunkRecord) => void;
}

/**
 * A Writable that takes plaintext and stores it as one encrypted, chunked object in a tier:
 * plaintext -> SHA-256 -> chunk slices -> (workers) encrypt + chunk SHA-256 + Merkle root ->
 * object SHA-256 -> tier.put per chunk. Nothing plaintext touches the disk. Memory is bounded by
 * (workers + 2) chunks; `result` resolves once every chunk is stored and verified by the tier.
 */
export class ObjectWriter extends Writable {
  readonly objectId: Buffer;
  readonly chunkPlain: number;
  readonly messageSize: number;
  readonly result: Promise<ObjectRecord>;

  private readonly plainHash: Hash = createHash('sha256');
  private readonly cipherHash: Hash = createHash('sha256');
  private readonly pool: EncryptPool | null;
  private readonly key: Uint8Array;
  private readonly maxInFlight: number;
  private cur: Buffer;
  private curLen = 0;
  private nextIndex = 0;
  private plainSize = 0;
  private cipherSize = 0;
  private readonly chunks: ChunkRecord[] = [];
  private readonly spare: ArrayBuffer[] = [];
  /** Results by index, waiting for their turn to be stored. */
  private readonly done = new Map<number, ChunkResult>();
  private nextToStore = 0;
  private inFlight = 0;
  /** Puts in progress (they run concurrently; hashing and the chunk list stay in order). */
  private readonly puts = new Set<Promise<void>>();
  /** Ciphertext buffers whose put finished, handed back to the workers. */
  private readonly spareCipher: ArrayBuffer[] = [];
  private slotWaiters: (() => void)[] = [];
  private failure: Error | null = null;
  private settle!: { resolve: (r: ObjectRecord) => void; reject: (e: Error) => void };

  constructor(private readonly o: WriteObjectOptions) {
    super({ highWaterMark: 1024 * 1024 });
    this.messageSize = o.messageSize ?? DEFAULT_MESSAGE_SIZE;
    this.chunkPlain = o.chunkPlain ?? chooseChunkPlain(o.maxPlainSize ?? 0, this.messageSize);
    if (this.chunkPlain % this.messageSize !== 0) throw new Error('chunk plaintext size must be a multiple of the message size');
    this.objectId = Buffer.from(o.sodium.randomBytes(OBJECT_ID_BYTES));
    this.key = o.keys.objectKey(domainOf(o.kind), this.objectId);
    const workers = o.workers ?? 2;
    this.pool = workers > 0 ? new EncryptPool(workers, { key: this.key, objectId: this.objectId, kind: o.kind, messageSize: this.messageSize, chunkPlain: this.chunkPlain }, o.sodium.backend) : null;
    // Both workers busy plus one chunk being written; memory is about 2 x maxInFlight chunks.
    this.maxInFlight = Math.max(1, workers + 1);
    this.cur = this.newPlainBuffer();
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

  private async consume(data: Buffer): Promise<void> {
    this.plainHash.update(data);
    this.plainSize += data.length;
    let off = 0;
    while (off < data.length) {
      if (this.failure) throw this.failure;
      // A full chunk is sent only when more bytes arrive, so the final chunk is never full-size.
      if (this.curLen === this.chunkPlain) await this.dispatch(false);
      const n = Math.min(data.length - off, this.chunkPlain - this.curLen);
      data.copy(this.cur, this.curLen, off, off + n);
      this.curLen += n;
      off += n;
    }
  }

  private async finish(): Promise<void> {
    if (this.curLen === this.chunkPlain) await this.dispatch(false);
    await this.dispatch(true);
    while (this.inFlight > 0 && !this.failure) await new Promise<void>((r) => this.slotWaiters.push(r));
    await Promise.all(this.puts);
    if (this.failure) throw this.failure;
    await this.pool?.close();
    this.settle.resolve({
      objectId: this.objectId,
      kind: this.o.kind,
      formatVersion: 1,
      messageSize: this.messageSize,
      chunkPlain: this.chunkPlain,
      plainSize: this.plainSize,
      plainSha256: this.plainHash.digest(),
      cipherSize: this.cipherSize,
      cipherSha256: this.cipherHash.digest(),
      chunks: this.chunks,
    });
  }

  private async dispatch(last: boolean): Promise<void> {
    while (this.inFlight >= this.maxInFlight && !this.failure) await new Promise<void>((r) => this.slotWaiters.push(r));
    if (this.failure) throw this.failure;
    const index = this.nextIndex++;
    const plain = this.cur;
    const plainLen = this.curLen;
    this.cur = last ? Buffer.alloc(0) : this.newPlainBuffer();
    this.curLen = 0;
    this.inFlight++;
    const job = this.pool
      ? this.pool.encrypt({ index, plain: plain.buffer as ArrayBuffer, plainLen, last, out: this.spareCipher.pop() })
      : Promise.resolve(this.encryptHere(index, plain.subarray(0, plainLen), last));
    job.then(
      (r) => {
        this.done.set(r.index, r);
        this.storeReady();
      },
      (e) => this.abort(e as Error),
    );
    if (!this.pool) {
      await job;
      await Promise.all(this.puts);
    }
  }

  private encryptHere(index: number, plain: Buffer, last: boolean): ChunkResult {
    const p = { kind: this.o.kind, objectId: this.objectId, messageSize: this.messageSize, chunkPlain: this.chunkPlain };
    const cipher = encryptChunk(this.o.sodium, this.key, p, index, plain, last);
    return { index, cipher, sha256: createHash('sha256').update(cipher).digest(), merkleRoot: merkleRoot(cipher), plain: plain.buffer as ArrayBuffer };
  }

  /**
   * Takes finished chunks strictly in index order (the object hash and the chunk list need order)
   * and starts their puts, which may overlap: a slow fsync on one chunk does not stall the workers.
   */
  private storeReady(): void {
    for (let r = this.done.get(this.nextToStore); r && !this.failure; r = this.done.get(this.nextToStore)) {
      this.done.delete(this.nextToStore);
      this.nextToStore++;
      this.cipherHash.update(r.cipher);
      const rec: ChunkRecord = { index: r.index, size: r.cipher.length, sha256: r.sha256, merkleRoot: r.merkleRoot };
      this.chunks.push(rec);
      this.cipherSize += r.cipher.length;
      if (r.plain.byteLength === this.chunkPlain && this.spare.length < 2) this.spare.push(r.plain);
      const result = r;
      const put = this.o.tier
        .put(chunkKey(this.objectIdHex, r.index), r.cipher, { size: r.cipher.length, sha256: r.sha256.toString('hex') })
        .then(
          () => {
            this.puts.delete(put);
            if (this.pool && this.spareCipher.length < 2) this.spareCipher.push(result.cipher.buffer as ArrayBuffer);
            this.inFlight--;
            this.o.onChunk?.(rec);
            this.slotWaiters.splice(0).forEach((w) => w());
          },
          (e) => {
            this.puts.delete(put);
            this.abort(e as Error);
          },
        );
      this.puts.add(put);
    }
  }

  private newPlainBuffer(): Buffer {
    const ab = this.spare.pop();
    return ab ? Buffer.from(ab) : Buffer.from(new ArrayBuffer(this.chunkPlain));
  }

  private abort(e: Error): void {
    if (this.failure) return;
    this.failure = e;
    this.settle.reject(e);
    this.slotWaiters.splice(0).forEach((w) => w());
    void this.pool?.close();
  }
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
