import { Worker } from 'node:worker_threads';
import { sodiumModulePaths, type Backend } from '../crypto/sodium.js';
import { HEADER_BYTES, KIND, LEAF_SIZE, MAGIC, FORMAT_VERSION, chunkCipherSize, type ObjectKind } from './format.js';

/**
 * Worker threads that turn whole plaintext chunks into ciphertext chunks, with the chunk's SHA-256
 * and Merkle root. Chunks are independent streams (format.ts), so two workers encrypt two chunks
 * at once while the main thread produces plaintext, hashes it and stores finished chunks. Worker 0
 * also keeps the object's ciphertext SHA-256 (hash jobs, in chunk order), which would otherwise
 * make the main thread the pipeline's longest serial path; chunks go to whichever worker has less
 * in flight, so worker 0 encrypts fewer of them.
 *
 * The worker is plain JavaScript evaluated from a string so that it runs the same from dist/ and
 * from TypeScript sources under vitest; it repeats chunk-codec.ts's encryptChunk with the native
 * API (tested against it by test/objects). Chunk buffers move between threads by transfer (not
 * shared memory: sodium-native silently reads and writes copies of SharedArrayBuffers).
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const { HEADER, LEAF, MAGIC, VERSION } = workerData;
let api;
async function load() {
  if (workerData.backend !== 'wasm') {
    try {
      const n = require(workerData.paths.native);
      const SB = n.crypto_secretstream_xchacha20poly1305_STATEBYTES;
      return {
        init(key, header) { const st = Buffer.alloc(SB); n.crypto_secretstream_xchacha20poly1305_init_push(st, header, key); return st; },
        push(st, out, msg, ad, tag) { n.crypto_secretstream_xchacha20poly1305_push(st, out, msg, ad, tag); },
      };
    } catch (e) { if (workerData.backend === 'native') throw e; }
  }
  const w = require(workerData.paths.wasm);
  await w.ready;
  return {
    init(key, header) { const r = w.crypto_secretstream_xchacha20poly1305_init_push(key); header.set(r.header); return r.state; },
    push(st, out, msg, ad, tag) { out.set(w.crypto_secretstream_xchacha20poly1305_push(st, msg, ad, tag)); },
  };
}
const ready = load();
const ZERO = Buffer.of(0);
const ONE = Buffer.of(1);
// The object's ciphertext SHA-256 (chunks in index order): kept by worker 0 only, fed by 'hash' jobs.
let objectHash = createHash('sha256');
function rootOf(level) {
  while (level.length > 1) {
    const next = [];
    for (let i = 0; i < level.length; i += 2) next.push(i + 1 < level.length ? createHash('sha256').update(ONE).update(level[i]).update(level[i + 1]).digest() : level[i]);
    level = next;
  }
  return level[0];
}
function encryptJob(job) {
  const M = workerData.messageSize;
  const slot = job.buf;
  // In place, without a copy: the plaintext sits at the end of the slot, which is one message
  // longer than a ciphertext chunk, and the ciphertext is written from offset 0. Message m's
  // ciphertext ends at 64 + (m+1)(M+17), before message m's own plaintext starts at
  // 64 + 17n + M + mM (n <= chunkPlain/M messages): libsodium never gets overlapping input and
  // output, and only plaintext already encrypted is overwritten.
  const plain = Buffer.from(slot, slot.byteLength - workerData.chunkPlain, job.plainLen);
  const n = Math.max(1, Math.ceil(plain.length / M));
  const size = HEADER + plain.length + n * 17;
  const out = Buffer.from(slot, 0, size);
  const key = Buffer.from(workerData.key);
  const header = out.subarray(0, HEADER);
  Buffer.from(MAGIC).copy(header, 0);
  header.writeUInt8(VERSION, 8); header.writeUInt8(workerData.kind, 9); header.writeUInt16LE(0, 10);
  header.writeUInt32LE(M, 12); header.writeUInt32LE(workerData.chunkPlain, 16); header.writeUInt32LE(job.index, 20);
  Buffer.from(workerData.objectId).copy(header, 24);
  const streamHeader = Buffer.alloc(24);
  const st = api.init(key, streamHeader);
  streamHeader.copy(header, 40);
  let pos = HEADER;
  // The chunk's SHA-256 and its Merkle leaves are computed as the ciphertext is produced, each
  // 64 KiB leaf while it is still in this core's cache.
  const chunkHash = createHash('sha256');
  const leaves = [];
  let hashed = 0;
  const hashUpTo = (end, final) => {
    while (hashed + LEAF <= end || (final && hashed < end)) {
      const leaf = out.subarray(hashed, Math.min(hashed + LEAF, end));
      chunkHash.update(leaf);
      leaves.push(createHash('sha256').update(ZERO).update(leaf).digest());
      hashed += leaf.length;
    }
  };
  if (plain.byteOffset < HEADER + n * 17 + M) throw new Error('slot too small for in-place encryption');
  for (let m = 0; m < n; m++) {
    const len = Math.min(M, plain.length - m * M);
    const tag = m < n - 1 ? 0 : job.last ? 3 : 1;
    api.push(st, out.subarray(pos, pos + len + 17), plain.subarray(m * M, m * M + len), m === 0 ? Buffer.from(header) : null, tag);
    pos += len + 17;
    hashUpTo(pos, m === n - 1);
  }
  return { id: job.id, cipherLen: out.length, sha256: chunkHash.digest(), merkleRoot: rootOf(leaves), buf: slot };
}
parentPort.on('message', async (job) => {
  try {
    if (job.op === 'hash') {
      objectHash.update(new Uint8Array(job.buf, 0, job.len));
      return parentPort.postMessage({ id: job.id, buf: job.buf }, [job.buf]);
    }
    if (job.op === 'digest') {
      const d = objectHash.digest();
      objectHash = createHash('sha256');
      return parentPort.postMessage({ id: job.id, sha256: d });
    }
    api = api || (await ready);
    const r = encryptJob(job);
    parentPort.postMessage(r, [r.buf]);
  } catch (e) {
    parentPort.postMessage({ id: job.id, error: String(e && e.stack || e) });
  }
});
`;

/**
 * Chunk `index`: `plainLen` plaintext bytes at the end of `buf` (its last chunkPlain bytes; `buf`
 * is at least slotBytes() long); the ciphertext is written over it from offset 0 and `buf` comes
 * back in the result.
 */
export interface ChunkJob {
  index: number;
  plainLen: number;
  last: boolean;
  buf: ArrayBuffer;
}

export interface ChunkResult {
  index: number;
  cipherLen: number;
  sha256: Buffer;
  merkleRoot: Buffer;
  buf: ArrayBuffer;
}

interface WorkerReply {
  id: number;
  error?: string;
  cipherLen?: number;
  sha256?: Uint8Array;
  merkleRoot?: Uint8Array;
  buf?: ArrayBuffer;
}

/**
 * Bytes of a slot for chunks of `chunkPlain` plaintext bytes: a full ciphertext chunk plus one
 * message, so that encryption in place never hands libsodium overlapping input and output (the
 * plaintext goes in the last chunkPlain bytes).
 */
export function slotBytes(chunkPlain: number, messageSize: number): number {
  return chunkCipherSize(chunkPlain, messageSize) + messageSize;
}

export interface PoolParams {
  key: Uint8Array;
  objectId: Uint8Array;
  kind: ObjectKind;
  messageSize: number;
  chunkPlain: number;
}

/**
 * Jobs in flight per worker: 2, so a worker never waits for the main thread (busy reading or
 * hashing) to hand it its next chunk; 1 left the workers idle a quarter of the time.
 */
const DEPTH = 2;

export class EncryptPool {
  private readonly workers: Worker[];
  /** Jobs posted to each worker and not answered yet. */
  private readonly busy: number[];
  /** Encryption jobs waiting for an idle worker. */
  private readonly queue: { job: ChunkJob; resolve: (r: ChunkResult) => void; reject: (e: Error) => void }[] = [];
  private nextId = 0;
  private readonly waiting = new Map<number, { worker: number; resolve: (m: WorkerReply) => void; reject: (e: Error) => void }>();

  constructor(
    size: number,
    p: PoolParams,
    backend?: Backend,
  ) {
    const workerData = {
      key: Uint8Array.from(p.key),
      objectId: Uint8Array.from(p.objectId),
      kind: KIND[p.kind],
      messageSize: p.messageSize,
      chunkPlain: p.chunkPlain,
      paths: sodiumModulePaths(),
      backend: backend ?? process.env.LOMO_SODIUM,
      HEADER: HEADER_BYTES,
      LEAF: LEAF_SIZE,
      MAGIC: Uint8Array.from(MAGIC),
      VERSION: FORMAT_VERSION,
    };
    this.workers = Array.from({ length: size }, () => {
      // Small heaps: a worker only holds a few hash objects; V8's defaults would let each grow by tens of MB.
      const w = new Worker(WORKER_SOURCE, { eval: true, workerData, resourceLimits: { maxYoungGenerationSizeMb: 2, maxOldGenerationSizeMb: 24 } });
      w.on('message', (m) => this.onMessage(m));
      w.on('error', (e) => this.failAll(e));
      return w;
    });
    this.busy = this.workers.map(() => 0);
  }

  /**
   * Encrypts one chunk (plus its SHA-256 and Merkle root); resolves when it is done. A job goes to
   * the worker with the fewest jobs in flight, at most DEPTH (the others wait here, in order):
   * worker 0 also gets the object hash jobs, so handing out chunks as workers free up balances
   * the two (round robin left worker 1 idle a third of the time).
   */
  encrypt(job: ChunkJob): Promise<ChunkResult> {
    return new Promise((resolve, reject) => {
      this.queue.push({ job, resolve, reject });
      this.pump();
    });
  }

  private pump(): void {
    while (this.queue.length > 0) {
      // The least busy worker, the last on ties: worker 0 is the one that also gets hash jobs.
      let w = -1;
      for (let i = this.workers.length - 1; i >= 0; i--) if (this.busy[i]! < DEPTH && (w < 0 || this.busy[i]! < this.busy[w]!)) w = i;
      if (w < 0) return;
      const { job, resolve, reject } = this.queue.shift()!;
      this.post(w, { index: job.index, plainLen: job.plainLen, last: job.last, buf: job.buf }, [job.buf]).then(
        (m) => resolve({ index: job.index, cipherLen: m.cipherLen!, sha256: Buffer.from(m.sha256!), merkleRoot: Buffer.from(m.merkleRoot!), buf: m.buf! }),
        reject,
      );
    }
  }

  /**
   * Adds `buf[0, len)` to the object's ciphertext SHA-256 on worker 0 (which handles its messages in
   * order: call in chunk order); `buf` comes back once hashed. This ordered pass runs on a
   * worker so that the main thread is left with reading the image, its plaintext SHA-256 and the
   * tier writes: otherwise the main thread is the pipeline's longest serial path.
   */
  async hashObject(buf: ArrayBuffer, len: number): Promise<ArrayBuffer> {
    return (await this.post(0, { op: 'hash', buf, len }, [buf])).buf!;
  }

  /** The object's ciphertext SHA-256 over everything given to hashObject. */
  async objectDigest(): Promise<Buffer> {
    return Buffer.from((await this.post(0, { op: 'digest' })).sha256!);
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }

  private post(worker: number, msg: object, transfer: ArrayBuffer[] = []): Promise<WorkerReply> {
    const id = this.nextId++;
    this.busy[worker]!++;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { worker, resolve, reject });
      this.workers[worker]!.postMessage({ ...msg, id }, transfer);
    });
  }

  private onMessage(m: WorkerReply): void {
    const w = this.waiting.get(m.id);
    if (!w) return;
    this.waiting.delete(m.id);
    this.busy[w.worker]!--;
    if (m.error) w.reject(new Error(`encryption worker failed: ${m.error}`));
    else w.resolve(m);
    // After the callbacks of this reply have run: a finished chunk posts its hash job to worker 0
    // first, so worker 0 does not take a whole chunk to encrypt ahead of it.
    setImmediate(() => this.pump());
  }

  private failAll(e: Error): void {
    for (const w of this.waiting.values()) w.reject(e);
    this.waiting.clear();
    for (const q of this.queue.splice(0)) q.reject(e);
  }
}
