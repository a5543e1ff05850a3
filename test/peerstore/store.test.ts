import { describe, expect, it, beforeEach, afterEach } from 'vitest';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openCatalog, type Db } from '../../storage/catalog/db.js';
import { PeerStore } from '../../storage/peerstore/store.js';
import { PeerStoreError } from '../../storage/peerstore/errors.js';
import { seeded } from '../support/random.js';

const random = seeded('peerstore/store.test.ts');
const OWNER = '12D3KooWOwnerA';
const OTHER = '12D3KooWOwnerB';

let dir: string;
let root: string;
let db: Db;
let store: PeerStore;

beforeEach(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lomo-peerstore-'));
  root = path.join(dir, 'hosted');
  db = openCatalog(path.join(dir, 'lomob.db'));
  store = await PeerStore.open(root, db);
});
afterEach(() => {
  db.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/** Every file under the store folder, relative to it. */
function files(): string[] {
  return fs.existsSync(root) ? (fs.readdirSync(root, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => path.relative(root, path.join(e.parentPath, e.name)))) : [];
}

async function refusal(p: Promise<unknown>): Promise<PeerStoreError> {
  const err = await p.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(PeerStoreError);
  return err as PeerStoreError;
}

async function* pieces(b: Buffer, n: number): AsyncIterable<Uint8Array> {
  for (let off = 0; off < b.length; off += n) yield b.subarray(off, off + n);
}

/** `b` in steps of up to `n` bytes, each step cut into several arrays (a frame as the pieces it arrived in). */
async function* pieceLists(b: Buffer, n: number): AsyncIterable<Uint8Array[]> {
  for (let off = 0; off < b.length; off += n) {
    const step = b.subarray(off, off + n);
    const cuts = [0, random.int(step.length + 1), random.int(step.length + 1), step.length].sort((x, y) => x - y);
    yield cuts.slice(1).map((end, i) => step.subarray(cuts[i]!, end)); // empty arrays included
  }
}

describe('peer store', () => {
  it('stores a chunk that arrives as lists of pieces, byte for byte; a bad one is refused', async () => {
    const data = random.bytes(1_000_000 + random.int(100_000));
    const h = sha(data);
    expect(await store.put(OWNER, h, data.length, pieceLists(data, 262_144))).toEqual({ stored: true });
    expect((await store.get(OWNER, h)).equals(data)).toBe(true);
    const bad = Buffer.from(data);
    bad[random.int(bad.length)]! ^= 0x01;
    expect((await refusal(store.put(OTHER, h, data.length, pieceLists(bad, 100_000)))).reason).toBe('hash-mismatch');
    expect((await refusal(store.put(OTHER, h, data.length - 1, pieceLists(data, 100_000)))).reason).toBe('size-mismatch');
    expect(files()).toEqual([path.join(OWNER, h.slice(0, 2), h)]);
  });

  it('stores a streamed chunk under owner/sha[0..2]/sha and returns it whole and by range', async () => {
    const data = random.bytes(300_000 + random.int(100_000));
    const h = sha(data);
    expect(await store.has(OWNER, h)).toBe(false);
    expect(await store.put(OWNER, h, data.length, pieces(data, 65_536))).toEqual({ stored: true });
    expect(files()).toEqual([path.join(OWNER, h.slice(0, 2), h)]);
    expect(await store.has(OWNER, h)).toBe(true);
    expect(await store.has(OTHER, h)).toBe(false);
    expect((await store.get(OWNER, h)).equals(data)).toBe(true);
    for (let i = 0; i < 20; i++) {
      const offset = random.int(data.length);
      const length = random.int(data.length - offset + 1);
      expect((await store.get(OWNER, h, { offset, length })).equals(data.subarray(offset, offset + length))).toBe(true);
    }
    expect((await store.get(OWNER, h, { offset: data.length, length: 0 })).length).toBe(0);
    expect((await refusal(store.get(OWNER, h, { offset: data.length - 1, length: 2 }))).reason).toBe('invalid');
    expect((await refusal(store.get(OTHER, h))).reason).toBe('not-found');
    expect(store.usage(OWNER)).toEqual({ owner: OWNER, quotaBytes: null, usedBytes: data.length, chunkCount: 1 });

    expect(await store.delete(OWNER, h)).toBe(true);
    expect(await store.has(OWNER, h)).toBe(false);
    expect(files()).toEqual([]);
    expect(store.usage(OWNER)).toMatchObject({ usedBytes: 0, chunkCount: 0 });
    expect(await store.delete(OWNER, h)).toBe(false);
  });

  it('a put of a chunk already held is accepted without counting it twice', async () => {
    const data = random.bytes(50_000);
    expect(await store.put(OWNER, sha(data), data.length, data)).toEqual({ stored: true });
    expect(await store.put(OWNER, sha(data), data.length, data)).toEqual({ stored: false });
    // Two sends racing each other: one records it, both return once it is in place.
    const other = random.bytes(40_000);
    const both = await Promise.all([store.put(OWNER, sha(other), other.length, other), store.put(OWNER, sha(other), other.length, other)]);
    expect(both.filter((r) => r.stored)).toHaveLength(1);
    expect(store.usage(OWNER)).toMatchObject({ usedBytes: 90_000, chunkCount: 2 });
    expect(files()).toHaveLength(2);
    // The same bytes for another owner are that owner's chunk.
    expect(await store.put(OTHER, sha(data), data.length, data)).toEqual({ stored: true });
    expect(store.usage(OTHER)).toMatchObject({ usedBytes: 50_000, chunkCount: 1 });
  });

  it('bytes that do not match their hash or announced size are refused and leave nothing', async () => {
    const data = random.bytes(200_000);
    const bad = Buffer.from(data);
    bad[random.int(bad.length)]! ^= 0x01;
    expect((await refusal(store.put(OWNER, sha(data), data.length, pieces(bad, 10_000)))).reason).toBe('hash-mismatch');
    expect((await refusal(store.put(OWNER, sha(data), data.length - 1, data))).reason).toBe('size-mismatch');
    expect((await refusal(store.put(OWNER, sha(data), data.length + 1, data))).reason).toBe('size-mismatch');
    expect((await refusal(store.put('../etc', sha(data), data.length, data))).reason).toBe('invalid');
    expect((await refusal(store.put(OWNER, 'ab/../cd', data.length, data))).reason).toBe('invalid');
    expect(files()).toEqual([]);
    expect(await store.has(OWNER, sha(data))).toBe(false);
    expect(store.usage(OWNER)).toMatchObject({ usedBytes: 0, chunkCount: 0 });
  });

  it('a put beyond the owner\'s quota is refused as `quota`, usage unchanged; others are not limited by it', async () => {
    store.setQuota(OWNER, 100_000);
    const a = random.bytes(60_000);
    const b = random.bytes(50_000);
    expect((await store.put(OWNER, sha(a), a.length, a)).stored).toBe(true);
    const err = await refusal(store.put(OWNER, sha(b), b.length, b));
    expect(err.reason).toBe('quota');
    expect(err.message).toMatch(/quota/);
    expect(store.usage(OWNER)).toEqual({ owner: OWNER, quotaBytes: 100_000, usedBytes: 60_000, chunkCount: 1 });
    expect(files()).toEqual([path.join(OWNER, sha(a).slice(0, 2), sha(a))]);
    // Exactly up to the quota fits; no quota agreed means no limit.
    const c = random.bytes(40_000);
    expect((await store.put(OWNER, sha(c), c.length, c)).stored).toBe(true);
    expect((await store.put(OTHER, sha(b), b.length, b)).stored).toBe(true);
    // Racing puts that each fit alone but not together: the catalog's re-check refuses one.
    store.setQuota(OTHER, 100_000);
    const d = random.bytes(30_000);
    const e = random.bytes(30_000);
    const results = await Promise.allSettled([store.put(OTHER, sha(d), d.length, pieces(d, 1000)), store.put(OTHER, sha(e), e.length, pieces(e, 1000))]);
    expect(results.filter((r) => r.status === 'rejected').map((r) => ((r as PromiseRejectedResult).reason as PeerStoreError).reason)).toEqual(['quota']);
    expect(store.usage(OTHER)).toMatchObject({ usedBytes: 80_000, chunkCount: 2 });
    expect(files()).toHaveLength(4);
  });

  it('a stored chunk with a flipped byte is not served, is reported as corrupt and quarantined', async () => {
    const data = random.bytes(120_000);
    const h = sha(data);
    await store.put(OWNER, h, data.length, data);
    const file = path.join(root, OWNER, h.slice(0, 2), h);
    const fd = fs.openSync(file, 'r+');
    const at = random.int(data.length);
    fs.writeSync(fd, Buffer.from([data[at]! ^ 0x80]), 0, 1, at);
    fs.closeSync(fd);

    const err = await refusal(store.get(OWNER, h));
    expect(err.reason).toBe('corrupt');
    expect(err.message).toContain(h);
    expect(fs.existsSync(file)).toBe(false);
    const quarantined = files();
    expect(quarantined).toHaveLength(1);
    expect(quarantined[0]).toMatch(new RegExp(`^\\.quarantine/${OWNER}/${h}\\.\\d+$`));
    expect(await store.has(OWNER, h)).toBe(false);
    expect((await refusal(store.get(OWNER, h))).reason).toBe('not-found');
    expect(store.usage(OWNER)).toMatchObject({ usedBytes: 0, chunkCount: 0 });
    // The owner can send a good copy again.
    expect((await store.put(OWNER, h, data.length, data)).stored).toBe(true);
    expect((await store.get(OWNER, h)).equals(data)).toBe(true);
  });

  it('open() removes temporary files and rows whose file never arrived', async () => {
    const data = random.bytes(10_000);
    await store.put(OWNER, sha(data), data.length, data);
    fs.mkdirSync(path.join(root, '.tmp'), { recursive: true });
    fs.writeFileSync(path.join(root, '.tmp', 'leftover'), 'x');
    fs.rmSync(path.join(root, OWNER, sha(data).slice(0, 2), sha(data)));
    store = await PeerStore.open(root, db);
    expect(files()).toEqual([]);
    expect(await store.has(OWNER, sha(data))).toBe(false);
    expect(store.usage(OWNER)).toMatchObject({ usedBytes: 0, chunkCount: 0 });
  });
});
