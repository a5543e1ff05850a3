import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createLibp2p, type Libp2p } from 'libp2p';
import { tcp } from '@libp2p/tcp';
import { noise } from '@chainsafe/libp2p-noise';
import { yamux } from '@chainsafe/libp2p-yamux';
import type { ServiceComponents } from '../../protocol/service.js';
import { ChunkRefused, chunkService, type ChunkService } from '../../protocol/chunk/index.js';
import { openCatalog, type Db } from '../../storage/catalog/db.js';
import { TMP_DIR } from '../../storage/peerstore/layout.js';
import { PeerStore } from '../../storage/peerstore/store.js';
import { seeded } from '../support/random.js';

/**
 * A holder whose store is a 1 MiB tmpfs: a put that runs out of room mid-stream is answered
 * `disk-full` (the holder reads the rest of the announced bytes, so the answer arrives in step),
 * nothing partial remains, and the next put on the same service works. Needs root (mount).
 */

const random = seeded('network/chunk-disk-full.test.ts');
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

async function host(): Promise<Libp2p> {
  const h = await createLibp2p({ addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] }, transports: [tcp()], connectionEncrypters: [noise()], streamMuxers: [yamux()] });
  await h.start();
  return h;
}

function components(h: Libp2p, trusted: string): ServiceComponents {
  return { host: h, trust: { trusted: (id) => id === trusted }, log: { info: () => {}, warn: () => {} } };
}

let tmp: string;
let small: string;
let db: Db;
let holder: Libp2p;
let sender: Libp2p;
let store: PeerStore;
let client: ChunkService;

beforeAll(async () => {
  if (process.getuid?.() !== 0) throw new Error('this test mounts a tmpfs: run it as root (the CI does)');
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lomo-chunk-full-'));
  small = path.join(tmp, 'hosted');
  fs.mkdirSync(small);
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', small]);
  db = openCatalog(path.join(tmp, 'lomob.db'));
  store = await PeerStore.open(small, db);
  [holder, sender] = await Promise.all([host(), host()]);
  await chunkService(store)(components(holder, sender.peerId.toString())).start();
  client = chunkService(await PeerStore.open(path.join(tmp, 'unused'), db))(components(sender, holder.peerId.toString()));
  await sender.peerStore.merge(holder.peerId, { multiaddrs: holder.getMultiaddrs() });
});

afterAll(async () => {
  await Promise.all([holder?.stop(), sender?.stop()]);
  db?.close();
  if (small) execFileSync('umount', [small]);
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe('/lomo/chunk/1.0.0 on a holder with a full disk', () => {
  it('refuses as disk-full in step, leaves nothing partial, and serves the next put', async () => {
    const to = holder.peerId.toString();
    const me = sender.peerId.toString();
    const big = random.bytes(1_500_000);
    const err = await client.put(to, me, sha(big), big.length, big).then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(ChunkRefused);
    expect((err as ChunkRefused).reason).toBe('disk-full');
    expect(await store.has(me, sha(big))).toBe(false);
    expect(fs.readdirSync(path.join(small, TMP_DIR))).toEqual([]);
    expect(store.usage(me)).toMatchObject({ usedBytes: 0, chunkCount: 0 });

    const ok = random.bytes(200_000);
    expect(await client.put(to, me, sha(ok), ok.length, ok)).toEqual({ stored: true });
    expect((await client.get(to, me, sha(ok))).equals(ok)).toBe(true);
  });
});
