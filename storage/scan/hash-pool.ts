import { Worker } from 'node:worker_threads';
import type { HashProgress, HashReply, HashRequest } from './hash-worker.js';

/**
 * A fixed pool of hashing workers. Requests are sent in small batches (one message per batch) so
 * that per-message overhead stays negligible for folders of many small files; a batch closes at
 * `batchSize` files or `batchBytes` bytes, so big videos travel alone and never pile up behind one
 * worker while the other idles. Each worker keeps at most `depth` batches queued, so memory stays
 * bounded however large the tree; a depth of 2 also lets a worker that hashes two files at once
 * (hash-worker.ts) pair the last file of one batch, or a video travelling alone, with the next batch's.
 */
export class HashPool {
  private readonly workers: { worker: Worker; inFlight: number }[] = [];
  private readonly pending = new Map<number, (r: HashReply) => void>();
  private nextId = 1;
  private queue: { req: HashRequest; size: number; resolve: (r: HashReply) => void }[] = [];
  private queuedBytes = 0;
  private slotWaiters: (() => void)[] = [];
  private failure: Error | undefined;

  /** Bytes read so far inside files that are still being hashed (big files only). */
  onBytes?: (bytes: number) => void;

  constructor(
    threads: number,
    private readonly batchSize = 8,
    private readonly depth = 2,
    private readonly batchBytes = 8 << 20,
  ) {
    for (let i = 0; i < threads; i++) {
      const worker = new Worker(new URL('./hash-worker.js', import.meta.url));
      const slot = { worker, inFlight: 0 };
      worker.on('message', (msg: HashReply[] | HashProgress) => {
        if (!Array.isArray(msg)) {
          this.onBytes?.(msg.progress);
          return;
        }
        const replies = msg;
        slot.inFlight--;
        for (const r of replies) {
          const resolve = this.pending.get(r.id);
          this.pending.delete(r.id);
          resolve?.(r);
        }
        this.dispatch();
        this.wakeWaiters();
      });
      worker.on('error', (err) => {
        this.failure = err;
        for (const [id, resolve] of this.pending) resolve({ id, ok: false, code: 'EWORKER', message: err.message });
        this.pending.clear();
        this.wakeWaiters();
      });
      this.workers.push(slot);
    }
  }

  /** Number of requests accepted but not yet answered. */
  get outstanding(): number {
    return this.pending.size + this.queue.length;
  }

  /** Resolves when the pool can take more work without growing past its bounds. */
  async waitForCapacity(): Promise<void> {
    const limit = this.workers.length * this.batchSize * (this.depth + 1);
    while (this.outstanding >= limit && !this.failure) {
      await new Promise<void>((r) => this.slotWaiters.push(r));
    }
  }

  /** `size` is the file's size from lstat, used only to shape batches. */
  hash(path: Uint8Array, size: number): Promise<HashReply> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve) => {
      this.queue.push({ req: { id: this.nextId++, path }, size, resolve });
      this.queuedBytes += size;
      this.dispatch();
    });
  }

  /** Takes the next batch off the queue: up to batchSize files, closed early at batchBytes. */
  private takeBatch(): { req: HashRequest; resolve: (r: HashReply) => void }[] {
    let n = 0;
    let bytes = 0;
    while (n < this.queue.length && n < this.batchSize && (n === 0 || bytes + this.queue[n]!.size <= this.batchBytes)) {
      bytes += this.queue[n]!.size;
      n++;
    }
    this.queuedBytes -= bytes;
    return this.queue.splice(0, n);
  }

  /** A full batch is waiting (enough files or enough bytes). */
  private fullBatchQueued(): boolean {
    return this.queue.length >= this.batchSize || this.queuedBytes >= this.batchBytes;
  }

  private send(slot: { worker: Worker; inFlight: number }, batch: { req: HashRequest; resolve: (r: HashReply) => void }[]): void {
    for (const { req, resolve } of batch) this.pending.set(req.id, resolve);
    slot.inFlight++;
    slot.worker.postMessage(batch.map((b) => b.req));
  }

  /** Sends queued requests; a partial batch is sent only when a worker would otherwise idle. */
  private dispatch(): void {
    for (;;) {
      if (this.queue.length === 0) return;
      const slot = this.workers.reduce((a, b) => (b.inFlight < a.inFlight ? b : a));
      if (slot.inFlight >= this.depth) return;
      if (!this.fullBatchQueued() && slot.inFlight > 0) return;
      this.send(slot, this.takeBatch());
    }
  }

  /** Pushes out a last partial batch (end of walk). */
  flush(): void {
    while (this.queue.length > 0) {
      const slot = this.workers.reduce((a, b) => (b.inFlight < a.inFlight ? b : a));
      this.send(slot, this.takeBatch());
    }
  }

  private wakeWaiters(): void {
    const w = this.slotWaiters;
    this.slotWaiters = [];
    for (const f of w) f();
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.worker.terminate()));
  }
}
