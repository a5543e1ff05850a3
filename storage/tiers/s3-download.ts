/**
 * Ranged parallel download: a restored volume is read as fixed-size ranges, `concurrency` GETs in
 * flight, emitted strictly in order so the consumer (decrypt, verify, write) sees one stream.
 * Memory is bounded by concurrency × rangeSize.
 */
import { Readable } from 'node:stream';
import { TierError } from './tier.js';
import type { S3Tier } from './s3.js';

export function parallelGet(tier: S3Tier, key: string, size: number, rangeSize: number, concurrency: number): Readable {
  async function* gen(): AsyncGenerator<Buffer> {
    const ranges: { start: number; end: number }[] = [];
    for (let s = 0; s < size; s += rangeSize) ranges.push({ start: s, end: Math.min(size, s + rangeSize) - 1 });
    const inflight: Promise<Buffer>[] = [];
    let next = 0;
    const fetchRange = async (r: { start: number; end: number }): Promise<Buffer> => {
      const body = await tier.get(key, r);
      const chunks: Buffer[] = [];
      for await (const c of body) chunks.push(c as Buffer);
      const buf = Buffer.concat(chunks);
      if (buf.length !== r.end - r.start + 1) throw new TierError(`${key}: range ${r.start}-${r.end} returned ${buf.length} bytes`, 'checksum');
      return buf;
    };
    while (next < ranges.length && inflight.length < concurrency) inflight.push(fetchRange(ranges[next++]!));
    while (inflight.length) {
      const buf = await inflight.shift()!;
      if (next < ranges.length) inflight.push(fetchRange(ranges[next++]!));
      yield buf;
    }
  }
  return Readable.from(gen(), { objectMode: false });
}
