import os from 'node:os';
import { Worker } from 'node:worker_threads';
import { sodiumModulePaths, type Backend } from '../crypto/sodium.js';
import { blake3, blake3ModulePaths } from '../crypto/blake3.js';
import { sha256x2Path } from '../crypto/sha256x2.js';
import { secretstreamPushPath } from '../crypto/secretstream-openssl.js';
import { NODE_KEY } from './merkle.js';
import { HEADER_BYTES, KIND, LEAF_SIZE, MAGIC, FORMAT_VERSION, chunkCipherSize, type ObjectKind } from './format.js';

/**
 * Worker threads that turn whole plaintext chunks into ciphertext chunks with their Merkle root,
 * and one more that computes the chunks' SHA-256s, two chunks per interleaved pass. Chunks are
 * independent streams (format.ts), so two workers encrypt two chunks at once while the main
 * thread reads the plaintext and keeps the object hashes. When the job carries a file descriptor
 * (a local tier's reservation) the worker also writes the ciphertext, one 64 KiB leaf at a time
 * right after hashing it, while it is still in this core's cache.
 *
 * Chunk slots are ArrayBuffers moved between threads by transfer (main -> encryption worker ->
 * main -> hash worker -> main), never copied. Shared memory was tried and measured worse:
 * sodium-native cannot read or write a SharedArrayBuffer (it silently works on nothing), so each
 * message had to be copied out and back, +0.6 CPU-s per 1.36 GB, more than the garbage
 * collections the transfers cost (V8 counts each arriving 9.4 MB buffer as new external memory).
 *
 * The worker is plain JavaScript evaluated from a string so that it runs the same from dist/ and
 * from TypeScript sources under vitest; it repeats chunk-codec.ts's encryptChunk with the native
 * API (tested against it by test/objects): libsodium sets each chunk's stream up, and its
 * messages are pushed on OpenSSL through our addon when it is there (same bytes, twice as fast:
 * storage/crypto/secretstream-openssl.ts), else by libsodium.
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const { writeSync } = require('node:fs');
const { HEADER, LEAF, MAGIC, VERSION } = workerData;
// Below the thread that reads the image (everything waits for it) and below the user's other
// programs (docs/crypto-format.md §8 has the measurements). On Linux a nice value is per thread;
// elsewhere it would apply to the whole process, so only there; and only ever lowered: a process
// started nicer (nice 19 lomo-peer ...) keeps its value.
if (process.platform === 'linux' && workerData.nice) {
  try {
    const os = require('node:os');
    if (os.getPriority(0) < workerData.nice) os.setPriority(0, workerData.nice);
  } catch {}
}
const WRITE = 32 * 1024;
let api;
async function load() {
  if (workerData.backend !== 'wasm') {
    try {
      const n = require(workerData.paths.native);
      const SB = n.crypto_secretstream_xchacha20poly1305_STATEBYTES;
      const fast = workerData.paths.openssl ? require(workerData.paths.openssl) : null;
      return {
        init(key, header) { const st = Buffer.alloc(SB); n.crypto_secretstream_xchacha20poly1305_init_push(st, header, key); return st; },
        push: fast ? fast.push : (st, out, msg, ad, tag) => { n.crypto_secretstream_xchacha20poly1305_push(st, out, msg, ad, tag); },
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
// The Merkle hash (merkle.ts): BLAKE3 leaves, keyed BLAKE3 inner nodes; the backend the main thread uses.
let b3;
async function loadBlake3() {
  if (workerData.blake3.backend === 'native') {
    const n = require(workerData.blake3.native);
    return { hash: (d) => n.blake3(d), keyed: (k, d) => n.Blake3Hasher.newKeyed(k).update(d).digestBuffer() };
  }
  const { blake3 } = await import(workerData.blake3.js);
  return { hash: (d) => Buffer.from(blake3(d)), keyed: (k, d) => Buffer.from(blake3(d, { key: k })) };
}
const b3ready = loadBlake3();
const NODE_KEY = Buffer.from(workerData.blake3.nodeKey);
function rootOf(level) {
  while (level.length > 1) {
    const next = [];
    for (let i = 0; i < level.length; i += 2) next.push(i + 1 < level.length ? b3.keyed(NODE_KEY, Buffer.concat([level[i], level[i + 1]])) : level[i]);
    level = next;
  }
  return level[0];
}
function encryptJob(job) {
  const M = workerData.messageSize;
  const slot = job.buf;
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
  const leaves = [];
  const fd = job.fd;
  let hashed = 0;
  const hashUpTo = (end, final) => {
    while (hashed + LEAF <= end || (final && hashed < end)) {
      const leaf = out.subarray(hashed, Math.min(hashed + LEAF, end));
      leaves.push(b3.hash(leaf));
      // 32 KiB per write: larger writes get larger page-cache folios, which on this VM come from
      // pages handed back to the host (see storage/iso/pump.ts, writeSize).
      if (fd >= 0) for (let w = 0; w < leaf.length; ) w += writeSync(fd, leaf, w, Math.min(WRITE, leaf.length - w), hashed + w);
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
  return { id: job.id, cipherLen: out.length, merkleRoot: rootOf(leaves), buf: slot };
}
// The chunks' own SHA-256s: the hash worker's 'hash' jobs, one or two chunks each. Two chunks
// go through one interleaved pass of the addon (storage/crypto/sha256x2.ts), about the price of one.
const x2 = workerData.x2 ? require(workerData.x2) : null;
function chunkHashes(views) {
  if (!x2) return views.map((v) => createHash('sha256').update(v).digest());
  const states = views.map(() => { const st = Buffer.alloc(112); x2.init(st); return st; });
  if (views.length === 2) x2.update2(states[0], views[0], states[1], views[1]);
  else views.forEach((v, i) => x2.update(states[i], v));
  return states.map((st) => x2.digest(st));
}
parentPort.on('message', async (job) => {
  try {
    if (job.op === 'hash') {
      const sha256 = chunkHashes(job.bufs.map((b, i) => new Uint8Array(b, 0, job.lens[i])));
      return parentPort.postMessage({ id: job.id, bufs: job.bufs, sha256s: sha256 }, job.bufs);
    }
    api = api || (await ready);
    b3 = b3 || (await b3ready);
    const r = encryptJob(job);
    parentPort.postMessage(r, [r.buf]);
  } catch (e) {
    parentPort.postMessage({ id: job.id, error: String(e && e.stack || e), code: e && e.code });
  }
});
`;

/**
 * Chunk `index`: `plainLen` plaintext bytes at the end of `buf` (its last chunkPlain bytes; `buf`
 * is slotBytes() long); the ciphertext is written over it from offset 0 and `buf` comes back in
 * the result.
 */
export interface ChunkJob {
  index: number;
  buf: ArrayBuffer;
  plainLen: number;
  last: boolean;
  /** A file to write the ciphertext into as it is produced (from offset 0), or -1. */
  fd?: number;
}

export interface ChunkResult {
  index: number;
  cipherLen: number;
  /** Null from the pool: its hash worker computes it (hashChunks). */
  sha256: Buffer | null;
  merkleRoot: Buffer;
  buf?: ArrayBuffer;
}

interface WorkerReply {
  id: number;
  error?: string;
  /** errno code of a failed write (ENOSPC...). */
  code?: string;
  cipherLen?: number;
  merkleRoot?: Uint8Array;
  bufs?: ArrayBuffer[];
  sha256s?: Uint8Array[];
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

/** The workers' nice value (Linux only): 10, or LOMO_WORKER_NICE (0-19; 0 keeps the caller's priority). */
function workerNice(): number {
  const v = Number(process.env.LOMO_WORKER_NICE ?? 10);
  return Number.isInteger(v) && v >= 0 && v <= 19 ? v : 10;
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
  /** Workers 0..encryptors-1 encrypt; the last one hashes. */
  private readonly encryptors: number;
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
      paths: { ...sodiumModulePaths(), openssl: secretstreamPushPath() },
      backend: backend ?? process.env.LOMO_SODIUM,
      blake3: { backend: blake3.backend, ...blake3ModulePaths(), nodeKey: Uint8Array.from(NODE_KEY) },
      x2: sha256x2Path(),
      nice: workerNice(),
      HEADER: HEADER_BYTES,
      LEAF: LEAF_SIZE,
      MAGIC: Uint8Array.from(MAGIC),
      VERSION: FORMAT_VERSION,
    };
    // `size` encryption workers, then one more that only keeps the object hash (see hashObject).
    this.workers = Array.from({ length: size + 1 }, () => {
      // Small heaps: a worker only holds a few hash objects; V8's defaults would let each grow by tens of MB.
      const w = new Worker(WORKER_SOURCE, { eval: true, workerData, resourceLimits: { maxYoungGenerationSizeMb: 2, maxOldGenerationSizeMb: 24 } });
      w.on('message', (m) => this.onMessage(m));
      w.on('error', (e) => this.failAll(e));
      return w;
    });
    this.busy = this.workers.map(() => 0);
    this.encryptors = size;
  }

  /**
   * Encrypts one chunk (plus its SHA-256 and Merkle root); resolves when it is done. A job goes to
   * the worker with the fewest jobs in flight, at most DEPTH (the others wait here, in order), so
   * a worker slowed by the other threads on its core gets fewer chunks.
   */
  encrypt(job: ChunkJob): Promise<ChunkResult> {
    return new Promise((resolve, reject) => {
      this.queue.push({ job, resolve, reject });
      this.pump();
    });
  }

  private pump(): void {
    while (this.queue.length > 0) {
      let w = -1;
      for (let i = this.encryptors - 1; i >= 0; i--) if (this.busy[i]! < DEPTH && (w < 0 || this.busy[i]! < this.busy[w]!)) w = i;
      if (w < 0) return;
      const { job, resolve, reject } = this.queue.shift()!;
      this.post(w, { index: job.index, plainLen: job.plainLen, last: job.last, buf: job.buf, fd: job.fd ?? -1 }, [job.buf]).then(
        (m) => resolve({ index: job.index, cipherLen: m.cipherLen!, sha256: null, merkleRoot: Buffer.from(m.merkleRoot!), buf: m.buf! }),
        reject,
      );
    }
  }

  /**
   * The SHA-256 of one or two chunks (`bufs[i][0, lens[i])`) on the hash worker, two in one
   * interleaved pass; the buffers come back with the digests. Its own thread: on an encryption
   * worker the pass would hold up that worker's chunks, and pairing needs two chunks at hand.
   */
  async hashChunks(items: { buf: ArrayBuffer; len: number }[]): Promise<{ buf: ArrayBuffer; sha256: Buffer }[]> {
    const bufs = items.map((i) => i.buf);
    const r = await this.post(this.encryptors, { op: 'hash', bufs, lens: items.map((i) => i.len) }, bufs);
    return r.bufs!.map((buf, i) => ({ buf, sha256: Buffer.from(r.sha256s![i]!) }));
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
    if (m.error) w.reject(Object.assign(new Error(`encryption worker failed: ${m.error}`), m.code ? { code: m.code } : {}));
    else w.resolve(m);
    this.pump();
  }

  private failAll(e: Error): void {
    for (const w of this.waiting.values()) w.reject(e);
    this.waiting.clear();
    for (const q of this.queue.splice(0)) q.reject(e);
  }
}

/**
 * Encryption workers: one per core, at most 3; LOMO_ENCRYPT_WORKERS overrides. On the 2-core
 * target that is 2: while the main thread waits for reads and writes both cores can encrypt
 * (measured 9% faster than 1 worker, same peak RSS since buffers are per slot, not per worker).
 */
export function defaultWorkers(): number {
  const env = Number(process.env.LOMO_ENCRYPT_WORKERS);
  if (process.env.LOMO_ENCRYPT_WORKERS && Number.isInteger(env) && env >= 0) return env;
  return Math.max(1, Math.min(3, os.availableParallelism()));
}
