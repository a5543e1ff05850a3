import { describe, expect, it, beforeAll, afterAll } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadSodium, type Sodium } from '../../storage/crypto/sodium.js';
import { SiteKeys } from '../../storage/crypto/keys.js';
import { FileTier } from '../../storage/tiers/file.js';
import { writeObject, type ObjectRecord } from '../../storage/objects/writer.js';
import { decryptRange, readRange } from '../../storage/objects/reader.js';
import { ChunkChain, ChunkUnavailableError, TierChunkSource, type BadCopy, type ChunkSource } from '../../storage/objects/chunk-sources.js';
import { chunkKey } from '../../storage/objects/format.js';
import { seeded } from '../support/random.js';

/**
 * The restore's chain of chunk sources (storage/objects/chunk-sources.ts) over real file tiers,
 * each standing in for a holder: the first good copy is used, a bad one (whole or a range) is
 * skipped and reported, bytes moved are counted per source, and with no good copy anywhere the
 * error names every source.
 */
const random = seeded('objects/chunk-sources.test.ts');
const messageSize = 64 * 1024;
const chunkPlain = 4 * messageSize;

let dir: string;
let sodium: Sodium;
let keys: SiteKeys;
let plain: Buffer;
let rec: ObjectRecord;
let origin: FileTier;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lomo-sources-'));
  sodium = await loadSodium('native');
  keys = new SiteKeys(sodium, random.bytes(32));
  origin = new FileTier(path.join(dir, 'origin'));
  plain = random.bytes(3 * chunkPlain + 5000);
  rec = await writeObject({ sodium, keys, tier: origin, kind: 'volume', messageSize, chunkPlain }, plain);
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** A copy of the object in its own folder, `damage` applied to chunk `index`'s file (or that chunk removed). */
function holderCopy(name: string, damage?: { index: number; at?: number }): FileTier {
  const root = path.join(dir, name);
  fs.cpSync(origin.root, root, { recursive: true });
  if (damage) {
    const file = path.join(root, chunkKey(rec.objectId.toString('hex'), damage.index));
    if (damage.at === undefined) fs.rmSync(file);
    else {
      const b = fs.readFileSync(file);
      b[damage.at]! ^= 0x10;
      fs.writeFileSync(file, b);
    }
  }
  return new FileTier(root);
}

/** A holder that moves only the part of a chunk asked for, like a family member. */
function ranged(tier: FileTier, name: string): ChunkSource {
  const inner = new TierChunkSource(tier, 'peers', name);
  return { name, tier: 'peers', ranged: true, get: (r, i, range) => inner.get(r, i, range) };
}

const ctx = (chain: ChunkChain) => ({ sodium, keys, tier: origin, chain });

describe('chunk source chain', () => {
  it('reads whole chunks from the first source that has them, counting bytes per source', async () => {
    const local = holderCopy('local-missing-1', { index: 1 });
    const chain = new ChunkChain([new TierChunkSource(local), new TierChunkSource(holderCopy('peer-good'), 'peers', 'peer P')]);
    expect((await readRange(ctx(chain), rec, 0, plain.length)).equals(plain)).toBe(true);
    expect(chain.bytesFetched.peers).toBe(rec.chunks[1]!.size);
    expect(chain.bytesFetched.local).toBe(rec.cipherSize - rec.chunks[1]!.size);
    expect(chain.badCopies).toEqual([]);
  });

  it('skips a bad whole copy for the next source and reports it, naming the holder', async () => {
    const told: BadCopy[] = [];
    const chain = new ChunkChain(
      [new TierChunkSource(holderCopy('local-missing-2', { index: 2 })), new TierChunkSource(holderCopy('peer-bad', { index: 2, at: 5000 }), 'peers', 'peer Bad'), new TierChunkSource(holderCopy('peer-ok'), 'peers', 'peer Ok')],
      (b) => told.push(b),
    );
    expect((await readRange(ctx(chain), rec, 0, plain.length)).equals(plain)).toBe(true);
    expect(told).toEqual([{ holder: 'peer Bad', object: rec.objectId.toString('hex'), chunk: 2, reason: expect.stringMatching(/SHA-256 does not match/) }]);
    expect(chain.badCopies).toEqual(told);
  });

  it('asks ranged sources for the prefix a range needs; a damaged range fails to authenticate and comes from the next holder', async () => {
    const told: BadCopy[] = [];
    const chain = new ChunkChain([ranged(holderCopy('r-bad', { index: 1, at: 70 }), 'peer RB'), ranged(holderCopy('r-ok'), 'peer RO')], (b) => told.push(b));
    // 100 bytes in chunk 1's first message: header + one message are moved, from each holder.
    const out: Buffer[] = [];
    await decryptRange(ctx(chain), rec, chunkPlain + 10, 100, async (b) => void out.push(b));
    expect(Buffer.concat(out).equals(plain.subarray(chunkPlain + 10, chunkPlain + 110))).toBe(true);
    expect(chain.bytesFetched.peers).toBe(2 * (64 + messageSize + 17));
    expect(told.map((b) => [b.holder, b.chunk])).toEqual([['peer RB', 1]]);
    expect(told[0]!.reason).toMatch(/does not authenticate/);
  });

  it('keeps the last chunks read from elsewhere: files of one chunk read one after the other move it once', async () => {
    const chain = new ChunkChain([new TierChunkSource(holderCopy('local-missing-4', { index: 1 })), ranged(holderCopy('keep'), 'peer K')]);
    const read = async (offset: number, length: number) => (await readRange(ctx(chain), rec, offset, length)).equals(plain.subarray(offset, offset + length));
    const prefix = (messages: number) => 64 + messages * (messageSize + 17);
    expect(await read(chunkPlain + 10, 100)).toBe(true);
    expect(chain.bytesFetched.peers).toBe(prefix(1));
    expect(await read(chunkPlain + 5000, 100)).toBe(true); // within the prefix already here
    expect(chain.bytesFetched.peers).toBe(prefix(1));
    expect(await read(chunkPlain + 2 * messageSize + 1, 10)).toBe(true); // needs a longer prefix: fetched again
    expect(chain.bytesFetched.peers).toBe(prefix(1) + prefix(3));
    expect(await read(chunkPlain + messageSize, 10)).toBe(true);
    expect(chain.bytesFetched.peers).toBe(prefix(1) + prefix(3));
  });

  it('with no good copy anywhere: one error naming every source, and whether a copy was bad or a holder unreachable', async () => {
    const unreachable: ChunkSource = { name: 'peer Gone', tier: 'peers', get: async () => { throw new Error('dial failed: connection refused'); } };
    const chain = new ChunkChain([new TierChunkSource(holderCopy('local-missing-3', { index: 0 })), unreachable]);
    const err = await readRange(ctx(chain), rec, 0, 10).then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(ChunkUnavailableError);
    const e = err as ChunkUnavailableError;
    expect(e.message).toMatch(/chunk 0: no source has a good copy \(local objects .*: is missing from .*; peer Gone: dial failed: connection refused\)/);
    expect([e.unreachable, e.sawBadCopy]).toEqual([true, false]);

    const bad = new ChunkChain([new TierChunkSource(holderCopy('local-bad', { index: 0, at: 100 })), unreachable]);
    const e2 = (await readRange(ctx(bad), rec, 0, 10).then(() => null, (x: unknown) => x)) as ChunkUnavailableError;
    expect([e2.unreachable, e2.sawBadCopy]).toEqual([true, true]);
  });

  it('one source alone fails in its own words, as before there were peers', async () => {
    const chain = ChunkChain.of(holderCopy('alone', { index: 0 }));
    await expect(readRange(ctx(chain), rec, 0, 10)).rejects.toThrow(/^object [0-9a-f]{32} chunk 0: is missing from file:/);
  });
});
