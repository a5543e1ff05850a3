/**
 * The replicator (node/host/replicator.ts) with real in-process libp2p hosts and peer stores: a
 * household whose store refuses (quota) is backed off and the object goes to another in the same
 * round; the placement is recorded and logged only once every chunk is acknowledged.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createLibp2p, type Libp2p } from 'libp2p';
import { tcp } from '@libp2p/tcp';
import { noise } from '@chainsafe/libp2p-noise';
import { yamux } from '@chainsafe/libp2p-yamux';
import { generateKeyPairFromSeed } from '@libp2p/crypto/keys';
import { peerIdFromString } from '@libp2p/peer-id';
import { MAX_STREAM_WINDOW } from '../../node/host/host.js';
import { Replicator } from '../../node/host/replicator.js';
import { chunkService, type ChunkService } from '../../protocol/chunk/index.js';
import type { ServiceComponents } from '../../protocol/service.js';
import { openCatalog, type Db } from '../../storage/catalog/db.js';
import { SiteKeys } from '../../storage/crypto/keys.js';
import { loadSodium } from '../../storage/crypto/sodium.js';
import { loadSiteKeys, saveObject } from '../../storage/objects/catalog.js';
import { ObjectWriter } from '../../storage/objects/writer.js';
import { PeerStore } from '../../storage/peerstore/store.js';
import { holdingsOfObject } from '../../storage/placements/holdings.js';
import { attachLocalLog } from '../../storage/sitelog/local-log.js';
import { signingKeyFromSeed } from '../../storage/sitelog/sign.js';
import { siteIdOfKey } from '../../storage/sitelog/site-id.js';
import { FileTier } from '../../storage/tiers/file.js';
import { chunkKey } from '../../storage/naming/object-keys.js';
import { savePairedPeer } from '../../storage/trust/peers.js';
import { seeded } from '../support/random.js';
import { cleanup, tempCatalog } from '../sitelog/logs.js';

const random = seeded('replication/replicator.test.ts');

interface Site {
  h: Libp2p;
  id: string;
  trusted: Set<string>;
  db: Db;
  store: PeerStore;
  chunks: ChunkService;
}

let tmp: string;

async function site(name: string, owner = false): Promise<Site> {
  const seed = random.bytes(32);
  const privateKey = await generateKeyPairFromSeed('Ed25519', seed);
  const h = await createLibp2p({
    privateKey,
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux({ streamOptions: { maxStreamWindowSize: MAX_STREAM_WINDOW } })],
  });
  await h.start();
  const signing = signingKeyFromSeed(seed);
  let db: Db;
  if (owner) {
    // This household keeps a log: its placements are logged with their rows.
    db = tempCatalog(signing);
    db.prepare('INSERT INTO sitelog_local (id, origin, delta_key, started_at) VALUES (1, ?, ?, 1)').run(signing.publicKey, random.bytes(32));
    attachLocalLog(db, await loadSodium(), signing);
  } else {
    const dir = path.join(tmp, name);
    fs.mkdirSync(dir);
    db = openCatalog(path.join(dir, 'lomob.db'));
  }
  const store = await PeerStore.open(path.join(tmp, `${name}-hosted`), db);
  const trusted = new Set<string>();
  const components: ServiceComponents = { host: h, trust: { trusted: (id) => trusted.has(id) }, log: { info: () => {}, warn: () => {} } };
  const chunks = chunkService(store)(components);
  await chunks.start();
  const id = h.peerId.toString();
  expect(siteIdOfKey(signing.publicKey)).toBe(id);
  return { h, id, trusted, db, store, chunks };
}

let owner: Site;
let holders: Site[];

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lomo-replicator-'));
  owner = await site('owner', true);
  holders = await Promise.all(['h1', 'h2', 'h3'].map((n) => site(n)));
  for (const h of holders) {
    h.trusted.add(owner.id);
    owner.trusted.add(h.id);
    savePairedPeer(owner.db, { peerId: h.id, name: h.id.slice(-4), siteName: h.id.slice(-4), addrs: [], quotaOffered: null, quotaGranted: null, introducedBy: null });
    await owner.h.dial(h.h.getMultiaddrs()[0]!);
  }
});
afterAll(async () => {
  await Promise.all([owner, ...holders].map((s) => s?.h.stop()));
  for (const s of [owner, ...holders]) s?.db.close();
  cleanup();
  fs.rmSync(tmp, { recursive: true, force: true });
});

/** Writes an encrypted volume object of `size` random bytes into the owner's object tier and records it. */
async function volume(size: number): Promise<number> {
  const sodium = await loadSodium();
  const keys = new SiteKeys(sodium, random.bytes(32));
  const tier = new FileTier(loadSiteKeys(owner.db)!.objectsUrl);
  const w = new ObjectWriter({ sodium, keys, tier, kind: 'volume', maxPlainSize: size });
  await pipeline(Readable.from([random.bytes(size)]), w);
  return saveObject(owner.db, await w.result);
}

/** The owner's replicator, its warnings collected. */
function ownersReplicator(): { r: Replicator; warnings: string[] } {
  const warnings: string[] = [];
  const r = new Replicator({
    db: owner.db,
    chunks: owner.chunks,
    connected: (id) => owner.h.getConnections(peerIdFromString(id)).length > 0,
    log: { info: () => {}, warn: (m) => warnings.push(m), debug: () => {} },
  });
  return { r, warnings };
}

describe('replicator', () => {
  it('a holder that refuses (quota) is passed over in the same round; the others get every chunk', async () => {
    const row = await volume(9 * 1024 * 1024); // two chunks
    // The household the planner picks first refuses: its store gives us 10 bytes.
    const byId = [...holders].sort((a, b) => (a.id < b.id ? -1 : 1));
    const [refusing, ...others] = byId as [Site, Site, Site];
    refusing.store.setQuota(owner.id, 10);
    const { r, warnings } = ownersReplicator();
    const report = await r.round();
    expect(report).toMatchObject({ objects: 1, met: 1, reason: null, familyTooSmall: false });
    expect(report.sent.chunks).toBe(4);
    expect(report.refused).toEqual([{ household: refusing.id, reason: 'quota', retryAt: expect.any(Number) }]);
    const held = holdingsOfObject(owner.db, row).map((h) => ('site' in h.holder ? h.holder.site : '')).sort();
    expect(held).toEqual(others.map((s) => s.id).sort());
    for (const s of others) expect(s.store.usage(owner.id)).toMatchObject({ chunkCount: 2 });
    expect(refusing.store.usage(owner.id)).toMatchObject({ chunkCount: 0, usedBytes: 0 });
    expect(warnings.join('\n')).toMatch(new RegExp(`${refusing.id} refused chunk \\d of [0-9a-f]+: quota .*placing elsewhere`));
    // A second round has nothing to do: everything sent already, nothing re-sent.
    const again = await r.round();
    expect(again.sent).toEqual(report.sent);
    refusing.store.setQuota(owner.id, null);
  });

  it('an object whose own copy cannot be read is not sent, its holders are not blamed, and the report says so', async () => {
    const row = await volume(50_000);
    const hex = owner.db.prepare('SELECT lower(hex(object_id)) FROM objects WHERE id = ?').pluck().get(row) as string;
    await new FileTier(loadSiteKeys(owner.db)!.objectsUrl).delete(chunkKey(hex, 0));
    const { r, warnings } = ownersReplicator();
    const report = await r.round();
    expect(report).toMatchObject({ objects: 2, met: 1, placing: 0, retryAt: null });
    expect(report.reason).toMatch(/cannot read its own copy of 1 object/);
    expect(holdingsOfObject(owner.db, row)).toEqual([]);
    expect(warnings.join('\n')).toMatch(/reading chunk 0 of [0-9a-f]+ from file:/);
    expect(warnings.join('\n')).not.toMatch(/placing elsewhere/);
  });

  it('when every household with room refused, the report says so and nothing is recorded', async () => {
    const row = await volume(100_000);
    for (const h of holders) h.store.setQuota(owner.id, h.store.usage(owner.id).usedBytes);
    const r = new Replicator({
      db: owner.db,
      chunks: owner.chunks,
      connected: (id) => owner.h.getConnections(peerIdFromString(id)).length > 0,
      log: { info: () => {}, warn: () => {}, debug: () => {} },
    });
    const report = await r.round();
    expect(report).toMatchObject({ objects: 3, met: 1, placing: 0 });
    expect(report.reason).toMatch(/refused lately \(quota, disk full or busy\), tried again later: /);
    expect(report.retryAt).toBeGreaterThan(Date.now());
    expect(holdingsOfObject(owner.db, row)).toEqual([]);
  });
});
