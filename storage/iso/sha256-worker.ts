/**
 * SHA-256 of a byte stream computed on a worker thread, so that hashing an image (about 1.5 GB/s
 * on one core) runs beside the reads and writes instead of between them. Chunks must live in
 * SharedArrayBuffers (the pump's ring): the worker reads them in place; `update` resolves once
 * the chunk is hashed and its buffer may be reused.
 */
import { Worker } from 'node:worker_threads';
import type { Sha256Request } from './sha256-thread.js';

export class WorkerSha256 {
  private readonly worker: Worker;
  private readonly waiting: { resolve: (v: unknown) => void; reject: (e: Error) => void }[] = [];
  private failed: Error | null = null;

  constructor() {
    this.worker = new Worker(new URL('./sha256-thread.js', import.meta.url));
    this.worker.on('message', (m: unknown) => this.waiting.shift()?.resolve(m));
    this.worker.on('error', (err) => this.fail(err));
    this.worker.on('exit', (code) => this.fail(new Error(`hash worker exited (${code})`)));
  }

  private fail(err: Error): void {
    this.failed ??= err;
    for (const w of this.waiting.splice(0)) w.reject(err);
  }

  private send(req: Sha256Request): Promise<unknown> {
    if (this.failed) return Promise.reject(this.failed);
    return new Promise((resolve, reject) => {
      this.waiting.push({ resolve, reject });
      this.worker.postMessage(req);
    });
  }

  async update(chunk: Buffer): Promise<void> {
    if (!(chunk.buffer instanceof SharedArrayBuffer)) throw new TypeError('WorkerSha256.update needs a SharedArrayBuffer-backed chunk');
    await this.send({ op: 'update', sab: chunk.buffer, offset: chunk.byteOffset, length: chunk.byteLength });
  }

  async digest(): Promise<Buffer> {
    const d = (await this.send({ op: 'digest' })) as Uint8Array;
    return Buffer.from(d.buffer, d.byteOffset, d.byteLength);
  }

  async close(): Promise<void> {
    this.worker.removeAllListeners('exit');
    await this.worker.terminate();
  }
}
