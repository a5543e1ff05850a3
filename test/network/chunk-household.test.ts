import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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
import { PeerStore } from '../../storage/peerstore/store.js';
import { acceptRemote } from '../../storage/sitelog/store.js';
import { householdOf } from '../../storage/sitelog/succession.js';
import { seeded } from '../support/random.js';
import { keyFrom, MemLog } from '../sitelog/logs.js';

/**
 * The holder's owner check follows successions: a household that lost its machine and recovered
 * on a new one (a succession entry in its log, signed by its recovery key) reaches the chunks its
 * lost machine stored, from the new machine's peer id; another family member still may not.
 * Real in-process libp2p hosts; the holder's catalog holds the household's real signed log.
 */

const random = seeded('network/chunk-household.test.ts');
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

async function host(): Promise<Libp2p> {
  const h = await createLibp2p({ addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] }, transports: [tcp()], connectionEncrypters: [noise()], streamMuxers: [yamux()] });
  await h.start();
  return h;
}

let tmp: string;
let db: Db;
let holder: Libp2p;
let recovered: Libp2p;
let member: Libp2p;
let store: PeerStore;
const clients: ChunkService[] = [];

function client(h: Libp2p): ChunkService {
  const components: ServiceComponents = { host: h, trust: { trusted: () => true }, log: { info: () => {}, warn: () => {} } };
  const c = chunkService(store)(components);
  clients.push(c);
  return c;
}

async function refusal(p: Promise<unknown>): Promise<ChunkRefused> {
  const err = await p.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(ChunkRefused);
  return err as ChunkRefused;
}

describe('chunk owner check with successions', () => {
  beforeAll(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lomo-chunk-household-'));
    db = openCatalog(path.join(tmp, 'lomob.db'));
    store = await PeerStore.open(path.join(tmp, 'hosted'), db);
    [holder, recovered, member] = await Promise.all([host(), host(), host()]);
    const trusted = new Set([recovered.peerId.toString(), member.peerId.toString()]);
    const components: ServiceComponents = { host: holder, trust: { trusted: (id) => trusted.has(id) }, log: { info: () => {}, warn: () => {} } };
    // What the node gives the service: the holder's catalog answers who speaks for whom.
    await chunkService(store, (peerId) => householdOf(db, peerId))(components).start();
    for (const h of [recovered, member]) await h.peerStore.merge(holder.peerId, { multiaddrs: holder.getMultiaddrs() });
  });

  afterAll(async () => {
    await Promise.all([holder?.stop(), recovered?.stop(), member?.stop()]);
    db?.close();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it("a recovered household's new machine gets and tests its old chunks; another member is forbidden", async () => {
    // The lost machine's household log: a site record naming the recovery key.
    const recovery = keyFrom(random);
    const lost = new MemLog(keyFrom(random), recovery);
    lost.append({ kind: 'siteRecord', body: { formatVersion: 1, opslimit: 3, memlimit: 64 << 20, salt: random.bytes(16), keyCheck: random.bytes(32), recoveryPublicKey: recovery.publicKey } });
    acceptRemote(db, lost.entries);
    // Chunks the lost machine stored here, under its household (its site id).
    const data = random.bytes(300_000);
    await store.put(lost.siteId, sha(data), data.length, data);

    const fromNew = client(recovered);
    const fromMember = client(member);
    const holderId = holder.peerId.toString();
    // Before the succession reaches the holder, the new machine is a stranger to those chunks.
    expect((await refusal(fromNew.get(holderId, lost.siteId, sha(data)))).reason).toBe('forbidden');

    // `recover`: the recovery key hands the household's log to the new machine's key.
    const newKey = Buffer.from(recovered.peerId.publicKey!.raw);
    lost.append({ kind: 'succession', body: { newKey } });
    expect(acceptRemote(db, lost.entries).accepted).toHaveLength(1);
    expect(householdOf(db, recovered.peerId.toString())).toBe(lost.siteId);

    expect(await fromNew.has(holderId, lost.siteId, sha(data))).toBe(true);
    expect((await fromNew.get(holderId, lost.siteId, sha(data))).equals(data)).toBe(true);
    // It may also add chunks of its household (what it packs after recovering).
    const more = random.bytes(10_000);
    expect(await fromNew.put(holderId, lost.siteId, sha(more), more.length, more)).toEqual({ stored: true });
    expect(store.usage(lost.siteId)).toMatchObject({ usedBytes: data.length + more.length, chunkCount: 2 });

    // Another family member speaks for its own household only.
    expect((await refusal(fromMember.get(holderId, lost.siteId, sha(data)))).reason).toBe('forbidden');
    expect((await refusal(fromMember.has(holderId, lost.siteId, sha(data)))).reason).toBe('forbidden');
    expect((await refusal(fromMember.put(holderId, lost.siteId, sha(more), more.length, more)))).toMatchObject({ reason: 'forbidden' });
  });
});
