/**
 * Cuts a byte stream into fixed-size parts (the last may be shorter) with bounded memory: the
 * consumer pulls one part at a time, so at most (parallel parts + 1) buffers exist at once.
 */
import type { Readable } from 'node:stream';

export async function* splitParts(body: Readable | Buffer, partSize: number): AsyncGenerator<Buffer> {
  if (Buffer.isBuffer(body)) {
    for (let off = 0; off < body.length || off === 0; off += partSize) {
      yield body.subarray(off, Math.min(off + partSize, body.length));
      if (body.length === 0) return;
    }
    return;
  }
  let buf = Buffer.allocUnsafe(partSize);
  let fill = 0;
  let any = false;
  for await (const chunk of body as AsyncIterable<Buffer | string>) {
    let c = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    while (c.length > 0) {
      const n = Math.min(c.length, partSize - fill);
      c.copy(buf, fill, 0, n);
      fill += n;
      c = c.subarray(n);
      if (fill === partSize) {
        any = true;
        yield buf;
        buf = Buffer.allocUnsafe(partSize);
        fill = 0;
      }
    }
  }
  if (fill > 0 || !any) yield buf.subarray(0, fill);
}

/** Runs async jobs with at most `limit` in flight; rejects on the first failure after in-flight jobs settle. */
export class Pool {
  private running = new Set<Promise<void>>();
  private failure: unknown = null;
  constructor(private readonly limit: number) {}

  /** Waits for a free slot, then starts the job. Throws the first failure seen so far. */
  async add(job: () => Promise<void>): Promise<void> {
    while (this.running.size >= this.limit) await Promise.race(this.running);
    if (this.failure) throw this.failure;
    const p: Promise<void> = job()
      .catch((e: unknown) => {
        this.failure ??= e;
      })
      .finally(() => this.running.delete(p));
    this.running.add(p);
  }

  async drain(): Promise<void> {
    while (this.running.size) await Promise.race(this.running);
    if (this.failure) throw this.failure;
  }
}
