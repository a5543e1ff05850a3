import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openCatalog, type Db } from '../../storage/catalog/db.js';
import { PeerStoreError } from '../../storage/peerstore/errors.js';
import { chunkPath } from '../../storage/peerstore/layout.js';
import { scrubHosted } from '../../storage/peerstore/scrub.js';
import { PeerStore, quarantinedChunks } from '../../storage/peerstore/store.js';
import { seeded } from '../support/random.js';

/** The holder scrub re-hashes stored chunks in budgeted batches and quarantines the bad ones. */

const random = seeded('peerstore/scrub.test.ts');
const OWNER = '12D3KooWOwnerA';
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

let dir: string;
let root: string;
let db: Db;
let store: PeerStore;
beforeEach(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lomo-scrub-'));
  root = path.join(dir, 'hosted');
  db = openCatalog(path.join(dir, 'lomob.db'));
  store = await PeerStore.open(root, db);
});
afterEach(() => {
  db.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

async function reason(p: Promise<unknown>): Promise<string> {
  const err = await p.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(PeerStoreError);
  return (err as PeerStoreError).reason;
}

async function putSome(n: number): Promise<Buffer[]> {
  const out: Buffer[] = [];
  for (let i = 0; i < n; i++) {
    const data = random.bytes(50_000 + random.int(3_000_000)); // several read buffers for some
    await store.put(OWNER, sha(data), data.length, data);
    out.push(data);
  }
  return out;
}

function flipByte(data: Buffer): void {
  const file = chunkPath(root, OWNER, sha(data));
  const fd = fs.openSync(file, 'r+');
  const at = random.int(data.length);
  fs.writeSync(fd, Buffer.from([data[at]! ^ 0x40]), 0, 1, at);
  fs.closeSync(fd);
}

describe('holder scrub', () => {
  it('finds a flipped byte: quarantined, its owner told corrupt once, the rest marked verified; a re-put heals it', async () => {
    const chunks = await putSome(4);
    const bad = chunks[2]!;
    flipByte(bad);
    const used = store.usage(OWNER).usedBytes;

    // Nothing is due yet with the default interval (every chunk was checked when it was stored).
    expect(await scrubHosted(store)).toMatchObject({ checked: 0, corrupt: [], more: false });

    const later = Date.now() + 8 * 24 * 3600_000;
    const r = await scrubHosted(store, { now: () => later });
    expect(r).toMatchObject({ checked: 3, gone: 0, more: false, corrupt: [{ owner: OWNER, sha256: sha(bad), size: bad.length }] });
    expect(r.bytes).toBe(chunks.reduce((n, c) => n + c.length, 0));
    expect(quarantinedChunks(root)).toEqual([expect.objectContaining({ owner: OWNER, sha256: sha(bad) })]);
    expect(fs.existsSync(chunkPath(root, OWNER, sha(bad)))).toBe(false);
    expect(store.usage(OWNER)).toMatchObject({ usedBytes: used - bad.length, chunkCount: 3 });
    expect(await store.has(OWNER, sha(bad))).toBe(false);
    expect(await reason(store.get(OWNER, sha(bad)))).toBe('corrupt');
    expect(await reason(store.get(OWNER, sha(bad)))).toBe('not-found');
    // The good ones were checked: not due again within the interval.
    expect(await scrubHosted(store, { now: () => later + 1000 })).toMatchObject({ checked: 0, corrupt: [] });

    // The owner re-sends it from a good copy: held and served again.
    expect(await store.put(OWNER, sha(bad), bad.length, bad)).toEqual({ stored: true });
    expect((await store.get(OWNER, sha(bad))).equals(bad)).toBe(true);
  });

  it('works in small batches under a time budget, least recently checked first', async () => {
    await putSome(3);
    const later = Date.now() + 8 * 24 * 3600_000;
    expect(await scrubHosted(store, { now: () => later, budgetMs: 0 })).toMatchObject({ checked: 0, more: true });
    expect(await scrubHosted(store, { now: () => later, maxChunks: 2 })).toMatchObject({ checked: 2, more: true });
    expect(await scrubHosted(store, { now: () => later, maxChunks: 2 })).toMatchObject({ checked: 1, more: false });
    expect(await scrubHosted(store, { now: () => later, maxChunks: 2 })).toMatchObject({ checked: 0, more: false });
    // A clock that runs past the budget stops the batch after the chunk in hand.
    let t = later + 8 * 24 * 3600_000;
    expect(await scrubHosted(store, { now: () => (t += 600), budgetMs: 1000 })).toMatchObject({ checked: 1, more: true });
  });

  it('a chunk whose file vanished is dropped, not reported corrupt', async () => {
    const [data] = await putSome(1);
    fs.rmSync(chunkPath(root, OWNER, sha(data!)));
    expect(await scrubHosted(store, { everyMs: 0, now: () => Date.now() + 1 })).toMatchObject({ checked: 0, gone: 1, corrupt: [] });
    expect(store.usage(OWNER)).toMatchObject({ usedBytes: 0, chunkCount: 0 });
    expect(quarantinedChunks(root)).toEqual([]);
  });
});
