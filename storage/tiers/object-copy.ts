/**
 * Encrypted objects live chunked in the local object store (`<object id>/<chunk>` keys, see
 * storage/objects/format.ts). Clouds bill per object and per request, so there an object is ONE
 * cloud object: its chunks concatenated. This module converts both ways:
 *  - `cipherStream`: the concatenated ciphertext, read chunk after chunk from the local tier;
 *  - `ConcatTier`: a read-only Tier that serves chunk keys out of one cloud object with ranged
 *    GETs (a window of them in parallel), so the object reader verifies and decrypts a cloud copy
 *    exactly as it does a local one.
 */
import { Readable } from 'node:stream';
import { TierError, type ByteRange, type ObjectStat, type Tier } from './tier.js';

/** What this module needs of an object record (storage/objects/writer.ts ObjectRecord). */
export interface ChunkedObject {
  objectId: Buffer;
  cipherSize: number;
  chunks: { index: number; size: number }[];
}

import { chunkKey as chunkKeyOf } from '../naming/object-keys.js';

async function readAll(r: Readable): Promise<Buffer> {
  const c: Buffer[] = [];
  for await (const x of r) c.push(Buffer.isBuffer(x) ? x : Buffer.from(x));
  return Buffer.concat(c);
}

export function cipherStream(local: Tier, rec: ChunkedObject): Readable {
  const idHex = rec.objectId.toString('hex');
  return Readable.from(
    (async function* () {
      for (const c of [...rec.chunks].sort((a, b) => a.index - b.index)) {
        const buf = await readAll(await local.get(chunkKeyOf(idHex, c.index)));
        if (buf.length !== c.size) throw new TierError(`object ${idHex} chunk ${c.index}: ${buf.length} bytes in ${local.url}, the catalog says ${c.size}`, 'checksum');
        yield buf;
      }
    })(),
  );
}

export class ConcatTier implements Tier {
  readonly kind = 'concat';
  readonly url: string;
  private readonly offsets: number[] = [];
  private readonly idHex: string;
  private readonly cache = new Map<number, Promise<Buffer>>();

  constructor(
    private readonly inner: Tier,
    private readonly key: string,
    private readonly rec: ChunkedObject,
    private readonly window = 3,
  ) {
    this.idHex = rec.objectId.toString('hex');
    let off = 0;
    for (const c of [...rec.chunks].sort((a, b) => a.index - b.index)) {
      this.offsets[c.index] = off;
      off += c.size;
    }
    this.url = `${inner.url}/${key}`;
  }

  private fetch(i: number): Promise<Buffer> {
    let p = this.cache.get(i);
    if (!p) {
      const c = this.rec.chunks.find((x) => x.index === i);
      if (!c) return Promise.reject(new TierError(`chunk ${i} of ${this.idHex} is not in the catalog`, 'not-found'));
      const start = this.offsets[i]!;
      p = this.inner.get(this.key, { start, end: start + c.size - 1 }).then(readAll);
      p.catch(() => {}); // surfaced when awaited
      this.cache.set(i, p);
    }
    return p;
  }

  async get(key: string, range?: ByteRange): Promise<Readable> {
    const m = /^([0-9a-f]+)\/(\d+)$/.exec(key);
    if (!m || m[1] !== this.idHex) throw new TierError(`${key} is not a chunk of object ${this.idHex}`, 'not-found');
    const i = Number(m[2]);
    // Readers go chunk after chunk: keep the next `window` ranges on the wire meanwhile.
    for (let k = i + 1; k <= i + this.window && k < this.rec.chunks.length; k++) void this.fetch(k).catch(() => {});
    const buf = await this.fetch(i);
    this.cache.delete(i);
    return Readable.from([range ? buf.subarray(range.start, range.end + 1) : buf]);
  }

  async head(key: string): Promise<ObjectStat | null> {
    const m = /^([0-9a-f]+)\/(\d+)$/.exec(key);
    const c = m && m[1] === this.idHex ? this.rec.chunks.find((x) => x.index === Number(m[2])) : undefined;
    return c ? { key, size: c.size } : null;
  }

  async *list(prefix = ''): AsyncIterable<ObjectStat> {
    for (const c of this.rec.chunks) {
      const k = chunkKeyOf(this.idHex, c.index);
      if (k.startsWith(prefix)) yield { key: k, size: c.size };
    }
  }

  put(): Promise<ObjectStat> {
    return Promise.reject(new TierError('a cloud object view is read-only', 'invalid'));
  }

  delete(): Promise<void> {
    return Promise.reject(new TierError('a cloud object view is read-only', 'invalid'));
  }
}
