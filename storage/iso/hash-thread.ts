import { Worker } from 'node:worker_threads';

/**
 * SHA-256 of the image on a second thread, beside the copy: the copying thread fills a slot of a
 * ring that lives in a SharedArrayBuffer, writes it out and publishes it; the hash thread hashes
 * the published slots in order, in place (nothing is copied or posted per chunk), and frees them.
 * Hand-over is two counters in shared memory (Atomics): the copier blocks only when the hash is a
 * whole ring behind. On 2 cores: one copies, one hashes.
 *
 * The worker is plain JavaScript evaluated from a string so that it runs the same from dist/ and
 * from TypeScript sources under vitest.
 */
const HEAD = 0; // slots published by the copier
const TAIL = 1; // slots hashed by the worker
const FAILED = 2; // set by the worker if it throws
const LENS = 3; // one length per slot; -1 = end of the data
/**
 * Wake-ups are batched: a thread that waits for the other is woken once per BATCH slots, not per
 * slot (per-slot futex wake-ups cost ~1 s of CPU for a 1.36 GB image on a loaded 2-core machine).
 * Either thread wakes the other before it goes to sleep itself, so they never both sleep, whatever
 * the ring size.
 */
const BATCH = 8;

const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const { ctrlSab, dataSab, slots, slotSize } = workerData;
const ctrl = new Int32Array(ctrlSab);
const h = createHash('sha256');
try {
  for (let j = 0; ; j++) {
    if (Atomics.load(ctrl, ${HEAD}) === j) {
      Atomics.notify(ctrl, ${TAIL}); // before sleeping, wake the copier (see BATCH)
      while (Atomics.load(ctrl, ${HEAD}) === j) Atomics.wait(ctrl, ${HEAD}, j);
    }
    const s = j % slots;
    const n = Atomics.load(ctrl, ${LENS} + s);
    if (n < 0) break;
    h.update(new Uint8Array(dataSab, s * slotSize, n));
    Atomics.store(ctrl, ${TAIL}, j + 1);
    if ((j + 1) % ${BATCH} === 0) Atomics.notify(ctrl, ${TAIL});
  }
  parentPort.postMessage(h.digest());
} catch (err) {
  Atomics.store(ctrl, ${FAILED}, 1);
  Atomics.notify(ctrl, ${TAIL});
  throw err;
}
`;

export class HashRing {
  private readonly ctrl: Int32Array;
  private readonly data: SharedArrayBuffer;
  private readonly worker: Worker;
  /** One Buffer view per slot, made once (not one per chunk). */
  private readonly views: Buffer[];
  private readonly result: Promise<Buffer>;
  private head = 0;
  private ended = false;

  constructor(
    readonly slots = 16,
    readonly slotSize = 64 << 10,
  ) {
    const ctrlSab = new SharedArrayBuffer((LENS + slots) * 4);
    this.ctrl = new Int32Array(ctrlSab);
    this.data = new SharedArrayBuffer(slots * slotSize);
    this.views = Array.from({ length: slots }, (_, s) => Buffer.from(this.data, s * slotSize, slotSize));
    this.worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { ctrlSab, dataSab: this.data, slots, slotSize },
      resourceLimits: { maxYoungGenerationSizeMb: 2, maxOldGenerationSizeMb: 16 },
    });
    this.result = new Promise<Buffer>((resolve, reject) => {
      this.worker.once('message', (d: Uint8Array) => resolve(Buffer.from(d.buffer, d.byteOffset, d.length)));
      this.worker.once('error', reject);
      this.worker.once('exit', (code) => reject(new Error(`hash thread exited (${code}) before the digest`)));
    });
    this.result.catch(() => {}); // surfaced by digest() or by next()
  }

  /**
   * The next slot to fill (blocks this thread while the hash is a whole ring behind); fill it,
   * then `publish` it. Throws if the hash thread failed.
   */
  next(): Buffer {
    if (this.ended) throw new Error('HashRing: next() after end()');
    let tail: number;
    while (this.head - (tail = Atomics.load(this.ctrl, TAIL)) >= this.slots) {
      if (Atomics.load(this.ctrl, FAILED)) throw new Error('hash thread failed');
      Atomics.notify(this.ctrl, HEAD); // before sleeping, wake the hash thread (see BATCH)
      // A timeout so that a worker that died without setting FAILED cannot hang us forever.
      if (Atomics.wait(this.ctrl, TAIL, tail, 10_000) === 'timed-out' && Atomics.load(this.ctrl, TAIL) === tail) {
        throw new Error('hash thread stopped responding');
      }
    }
    return this.views[this.head % this.slots]!;
  }

  /** Hands the slot returned by `next` to the hash thread, with its first `n` bytes in use. */
  publish(n: number): void {
    Atomics.store(this.ctrl, LENS + (this.head % this.slots), n);
    this.head++;
    Atomics.store(this.ctrl, HEAD, this.head);
    if (this.head % BATCH === 0 || n < 0) Atomics.notify(this.ctrl, HEAD);
  }

  /** No more data: resolves with the SHA-256 of everything published. */
  async digest(): Promise<Buffer> {
    if (!this.ended) {
      this.next();
      this.publish(-1);
      this.ended = true;
    }
    return this.result;
  }

  async close(): Promise<void> {
    this.worker.removeAllListeners();
    await this.worker.terminate();
  }
}
