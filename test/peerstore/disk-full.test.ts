import { describe, expect, it, beforeAll, afterAll } from 'vitest';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openCatalog, type Db } from '../../storage/catalog/db.js';
import { PeerStore } from '../../storage/peerstore/store.js';
import { PeerStoreError } from '../../storage/peerstore/errors.js';
import { seeded } from '../support/random.js';

const random = seeded('peerstore/disk-full.test.ts');
const OWNER = '12D3KooWOwnerA';

/**
 * The store folder is a 1 MiB tmpfs: a chunk that does not fit is refused as `disk-full`, with no
 * temporary file, no row and no usage left, and the chunks already held stay whole. Needs root
 * (mount), as the other tmpfs tests do.
 */
let tmp: string;
let small: string;
let db: Db;
beforeAll(() => {
  if (process.getuid?.() !== 0) throw new Error('this test mounts a tmpfs: run it as root (the CI does)');
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lomo-peerstore-full-'));
  small = path.join(tmp, 'hosted');
  fs.mkdirSync(small);
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', small]);
  db = openCatalog(path.join(tmp, 'lomob.db'));
});
afterAll(() => {
  db?.close();
  if (small) execFileSync('umount', [small]);
  fs.rmSync(tmp, { recursive: true, force: true });
});

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

function files(dir: string): string[] {
  return fs.readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => path.join(e.parentPath, e.name));
}

describe('peer store on a full disk', () => {
  it('refuses as disk-full, leaves nothing partial, usage unchanged, held chunks intact', async () => {
    const store = await PeerStore.open(small, db);
    const held = random.bytes(600_000);
    expect((await store.put(OWNER, sha(held), held.length, held)).stored).toBe(true);

    const big = random.bytes(700_000);
    async function* stream() {
      for (let off = 0; off < big.length; off += 32_768) yield big.subarray(off, off + 32_768);
    }
    const err = await store.put(OWNER, sha(big), big.length, stream()).then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(PeerStoreError);
    expect((err as PeerStoreError).reason).toBe('disk-full');
    expect(await store.has(OWNER, sha(big))).toBe(false);
    expect(files(small)).toEqual([path.join(small, OWNER, sha(held).slice(0, 2), sha(held))]);
    expect(store.usage(OWNER)).toMatchObject({ usedBytes: held.length, chunkCount: 1 });
    expect((await store.get(OWNER, sha(held))).equals(held)).toBe(true);

    // With room made, the same chunk is stored.
    await store.delete(OWNER, sha(held));
    expect((await store.put(OWNER, sha(big), big.length, stream())).stored).toBe(true);
    expect(store.usage(OWNER)).toMatchObject({ usedBytes: big.length, chunkCount: 1 });
  });
});
