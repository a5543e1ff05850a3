import { describe, expect, it, beforeAll, afterAll } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { loadSodium, type Sodium } from '../../storage/crypto/sodium.js';
import { SiteKeys } from '../../storage/crypto/keys.js';
import { FileTier } from '../../storage/tiers/file.js';
import type { ByteRange, Tier } from '../../storage/tiers/tier.js';
import { ObjectWriter, type ObjectRecord } from '../../storage/objects/writer.js';
import { decryptRange } from '../../storage/objects/reader.js';
import { placeFile } from '../../storage/objects/restore.js';
import { seeded } from '../support/random.js';

const random = seeded('objects/range-read.test.ts');

/**
 * Acceptance: restoring one 2 MB file from a 1 GB encrypted volume reads at most 2 chunks from the
 * tier. A real 1 GiB object in a real file tier; the tier is wrapped only to count what is read.
 */
const GiB = 1024 ** 3;
const BLOCK = 1 << 20;
const fill = random.bytes(BLOCK);

/** Deterministic 1 GiB: block i is `fill` with i stamped in its first 8 bytes. */
function block(i: number): Buffer {
  const b = Buffer.from(fill);
  b.writeBigUInt64LE(BigInt(i), 0);
  return b;
}
function expected(offset: number, length: number): Buffer {
  const parts: Buffer[] = [];
  for (let i = Math.floor(offset / BLOCK); i * BLOCK < offset + length; i++) parts.push(block(i));
  const start = offset - Math.floor(offset / BLOCK) * BLOCK;
  return Buffer.concat(parts).subarray(start, start + length);
}

class CountingTier implements Tier {
  readonly kind = 'counting';
  bytes = 0;
  keys: string[] = [];
  constructor(private readonly inner: FileTier) {}
  get url() {
    return this.inner.url;
  }
  put = (...a: Parameters<Tier['put']>) => this.inner.put(...a);
  head = (k: string) => this.inner.head(k);
  list = (p?: string) => this.inner.list(p);
  delete = (k: string) => this.inner.delete(k);
  async get(key: string, range?: ByteRange): Promise<Readable> {
    this.keys.push(key);
    const s = await this.inner.get(key, range);
    s.on('data', (c: Buffer) => (this.bytes += c.length));
    return s;
  }
}

let tmp: string;
let sodium: Sodium;
let keys: SiteKeys;
let tier: CountingTier;
let rec: ObjectRecord;

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lomo-range-'));
  sodium = await loadSodium();
  keys = new SiteKeys(sodium, random.bytes(32));
  tier = new CountingTier(new FileTier(path.join(tmp, 'objects')));
  const w = new ObjectWriter({ sodium, keys, tier, kind: 'volume', maxPlainSize: GiB });
  await pipeline(Readable.from((function* () { for (let i = 0; i < GiB / BLOCK; i++) yield block(i); })()), w);
  rec = await w.result;
}, 300_000);
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('ranged restore from a 1 GiB encrypted volume', () => {
  it('has the expected chunking', () => {
    expect(rec.plainSize).toBe(GiB);
    expect(rec.chunks.length).toBe(GiB / rec.chunkPlain + 1);
    expect(rec.chunks.length).toBeLessThan(10_000);
    expect(rec.chunks[0]!.size).toBeGreaterThanOrEqual(5 * 1024 * 1024);
  });

  for (const [label, offset] of [
    ['straddling a chunk boundary', 0], // set below from the chunk size
    ['inside one chunk', 1],
  ] as const) {
    it(`a 2 MB file ${label} reads at most 2 chunks`, async () => {
      const len = 2_000_000;
      const off = offset === 0 ? 37 * rec.chunkPlain - 1_000_000 : 90 * rec.chunkPlain + 12_345;
      tier.bytes = 0;
      tier.keys = [];
      const out = path.join(tmp, `out-${offset}`);
      fs.mkdirSync(out);
      const want = expected(off, len);
      const sha = createHash('sha256').update(want).digest();
      const final = await placeFile(out, Buffer.from('photos/IMG_0001.jpg'), { sha256: sha, size: len }, (write) => decryptRange({ sodium, keys, tier }, rec, off, len, write));
      expect(fs.readFileSync(final).equals(want)).toBe(true);
      const chunkBytes = rec.chunks[0]!.size;
      expect(tier.keys.length).toBe(offset === 0 ? 2 : 1);
      expect(tier.bytes).toBeLessThanOrEqual(2 * chunkBytes);
      expect(tier.bytes).toBeLessThan(GiB / 50);
    });
  }
});
