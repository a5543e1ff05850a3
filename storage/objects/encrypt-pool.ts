import { Worker } from 'node:worker_threads';
import { sodiumModulePaths, type Backend } from '../crypto/sodium.js';
import { HEADER_BYTES, KIND, LEAF_SIZE, MAGIC, FORMAT_VERSION, type ObjectKind } from './format.js';

/**
 * Worker threads that turn whole plaintext chunks into ciphertext chunks, with the chunk's SHA-256
 * and Merkle root. Chunks are independent streams (format.ts), so two workers encrypt two chunks
 * at once while the main thread produces plaintext, hashes it and stores finished chunks: that is
 * how encryption + hashing keep up with the ISO writer on a 2-core machine.
 *
 * The worker is plain JavaScript evaluated from a string so that it runs the same from dist/ and
 * from TypeScript sources under vitest; it repeats chunk-codec.ts's encryptChunk with the native
 * API (tested against it by test/objects). Chunk buffers move between threads by transfer.
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const { HEADER, LEAF, MAGIC, VERSION } = workerData;
let api;
let scratchIn = null;
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
const sha = (...parts) => { const h = createHash('sha256'); for (const p of parts) h.update(p); return h.digest(); };
function merkle(data) {
  let level = [];
  for (let off = 0; off < data.length || level.length === 0; off += LEAF) {
    level.push(sha(Buffer.of(0), data.subarray(off, Math.min(off + LEAF, data.length))));
    if (data.length === 0) break;
  }
  while (level.length > 1) {
    const next = [];
    for (let i = 0; i < level.length; i += 2) next.push(i + 1 < level.length ? sha(Buffer.of(1), level[i], level[i + 1]) : level[i]);
    level = next;
  }
  return level[0];
}
parentPort.on('message', async (job) => {
  try {
    api = api || (await ready);
    const M = workerData.messageSize;
    const slot = job.buf;
    // In place: plaintext at [slot end - chunkPlain, ...), ciphertext written from 0. Message m's
    // ciphertext ends at 64 + (m+1)(M+17) <= where message m+1's plaintext starts, and message m
    // is copied to scratch before its ciphertext is written: nothing unread is overwritten.
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
    // Each message is copied out before its ciphertext (which may reach into it) is written.
    if (!scratchIn || scratchIn.length < M) scratchIn = Buffer.alloc(M);
    for (let m = 0; m < n; m++) {
      const len = Math.min(M, plain.length - m * M);
      plain.copy(scratchIn, 0, m * M, m * M + len);
      const tag = m < n - 1 ? 0 : job.last ? 3 : 1;
      api.push(st, out.subarray(pos, pos + len + 17), scratchIn.subarray(0, len), m === 0 ? Buffer.from(header) : null, tag);
      pos += len + 17;
    }
    parentPort.postMessage({ index: job.index, cipherLen: out.length, sha256: sha(out), merkleRoot: merkle(out), buf: slot }, [slot]);
  } catch (e) {
    parentPort.postMessage({ index: job.index, error: String(e && e.stack || e) });
  }
});
`;

/**
 * Chunk `index`: `plainLen` plaintext bytes at the end of `buf` (its last chunkPlain bytes); the
 * ciphertext is written over it from offset 0 and `buf` comes back in the result.
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

export interface PoolParams {
  key: Uint8Array;
  objectId: Uint8Array;
  kind: ObjectKind;
  messageSize: number;
  chunkPlain: number;
}

export class EncryptPool {
  private readonly workers: Worker[];
  private next = 0;
  private readonly waiting = new Map<number, { resolve: (r: ChunkResult) => void; reject: (e: Error) => void }>();

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
  }

  /** Encrypts one chunk on the next worker (round robin); resolves when it is done. */
  encrypt(job: ChunkJob): Promise<ChunkResult> {
    const w = this.workers[this.next++ % this.workers.length]!;
    return new Promise((resolve, reject) => {
      this.waiting.set(job.index, { resolve, reject });
      w.postMessage(job, [job.buf]);
    });
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }

  private onMessage(m: { index: number; error?: string; cipherLen: number; sha256: Uint8Array; merkleRoot: Uint8Array; buf: ArrayBuffer }): void {
    const w = this.waiting.get(m.index);
    if (!w) return;
    this.waiting.delete(m.index);
    if (m.error) return w.reject(new Error(`encryption worker failed: ${m.error}`));
    w.resolve({ index: m.index, cipherLen: m.cipherLen, sha256: Buffer.from(m.sha256), merkleRoot: Buffer.from(m.merkleRoot), buf: m.buf });
  }

  private failAll(e: Error): void {
    for (const w of this.waiting.values()) w.reject(e);
    this.waiting.clear();
  }
}
