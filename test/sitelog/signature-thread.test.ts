import { afterEach, describe, expect, it } from 'vitest';
import { createLibp2p, type Libp2p } from 'libp2p';
import { tcp } from '@libp2p/tcp';
import { noise } from '@chainsafe/libp2p-noise';
import { yamux } from '@chainsafe/libp2p-yamux';
import { MAX_STREAM_WINDOW } from '../../node/host/host.js';
import { logService, LogRefused } from '../../protocol/log/index.js';
import { ACCEPT_BATCH_ENTRIES, VERIFY_AHEAD_BATCHES } from '../../protocol/log/constants.js';
import type { Db } from '../../storage/catalog/db.js';
import { decodeEntry } from '../../storage/sitelog/entry.js';
import { verifySignature } from '../../storage/sitelog/sign.js';
import { SignatureThread } from '../../storage/sitelog/signature-thread.js';
import { acceptRemote, headOf } from '../../storage/sitelog/store.js';
import { seeded } from '../support/random.js';
import { cleanup, count, keyFrom, MemLog, sealedObject, tempCatalog } from './logs.js';

/**
 * The log sync receiver checks signatures on a second thread (storage/sitelog/signature-thread.ts):
 * its answers equal verifySignature's, and a sync long enough to use it stores exactly what a
 * check on one thread would — a forged entry refuses its batch, a succession changes the key.
 */

const hosts: Libp2p[] = [];
afterEach(async () => {
  await Promise.all(hosts.splice(0).map((h) => h.stop()));
  cleanup();
});

/** A copy of `e` with one byte of its signature flipped. */
function forge(bytes: Buffer): Buffer {
  const b = Buffer.from(bytes);
  b[b.length - 10]! ^= 1;
  return b;
}

describe('signature thread', () => {
  it('answers as verifySignature does: valid, forged signature, changed body, other key', async () => {
    const r = seeded('sitelog/signature-thread answers');
    const a = new MemLog(keyFrom(r));
    for (let i = 0; i < 40; i++) a.append(sealedObject(r, 1 + (i % 4)));
    const bytes = a.entries.map((e) => e.bytes);
    bytes[7] = forge(bytes[7]!);
    bytes[13] = Buffer.from(bytes[13]!);
    bytes[13]![120] ^= 1; // inside the body: the hash, so the signed message, changes
    const t = new SignatureThread();
    try {
      const ok = await t.verify(bytes, a.key.publicKey);
      expect([...ok]).toEqual(bytes.map((b) => (verifySignature(decodeEntry(b), a.key.publicKey) ? 1 : 0)));
      expect(ok.filter((x) => x === 0)).toHaveLength(2);
      expect([...(await t.verify(bytes, keyFrom(r).publicKey))].every((x) => x === 0)).toBe(true);
      const check = await t.check(bytes, a.key.publicKey);
      expect(bytes.map((b) => check(decodeEntry(b), a.key.publicKey))).toEqual([...ok].map((x) => x === 1));
      expect(check(decodeEntry(bytes[0]!), keyFrom(r).publicKey)).toBe(false); // a yes holds for the key asked only
    } finally {
      await t.close();
    }
    // A closed (or failed) thread: every check is made on the calling thread.
    const check = await t.check(bytes, a.key.publicKey);
    expect(check(decodeEntry(bytes[0]!), a.key.publicKey)).toBe(true);
    expect(check(decodeEntry(bytes[7]!), a.key.publicKey)).toBe(false);
  });
});

describe('log sync through the signature thread', () => {
  // More batches than the thread checks ahead, and a last partial one; the thread starts at the first full batch.
  const B = ACCEPT_BATCH_ENTRIES;
  const N = B * (VERIFY_AHEAD_BATCHES + 3) + B / 2;

  async function pair(sender: Db, receiver: Db) {
    const mk = () =>
      createLibp2p({
        addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] }, transports: [tcp()], connectionEncrypters: [noise()],
        streamMuxers: [yamux({ streamOptions: { maxStreamWindowSize: MAX_STREAM_WINDOW } })],
      });
    const [hs, hr] = await Promise.all([mk(), mk()]);
    hosts.push(hs, hr);
    const warnings: string[] = [];
    const log = { info: () => {}, warn: (m: string) => warnings.push(m) };
    const s = logService({ db: sender, acceptsOrigin: () => true })({ host: hs, trust: { trusted: () => true }, log });
    const rcv = logService({ db: receiver, acceptsOrigin: () => true })({ host: hr, trust: { trusted: () => true }, log });
    await Promise.all([s.start(), rcv.start()]);
    await hr.dial(hs.getMultiaddrs()[0]!);
    return { sync: () => rcv.sync(hs.peerId.toString()), senderPeer: hs.peerId.toString(), warnings };
  }

  /** The sender holds `bytes` as its log (stored raw, as a sync would pass them on). */
  function senderWith(bytes: Buffer[]): Db {
    const db = tempCatalog();
    acceptRemote(db, bytes);
    return db;
  }

  it('a long log arrives whole, across a succession (the thread is asked the old key, the caller checks the new)', async () => {
    const r = seeded('sitelog/signature-thread succession');
    const recovery = keyFrom(r);
    const next = keyFrom(r);
    const a = new MemLog(keyFrom(r), recovery);
    a.append({ kind: 'siteRecord', body: { formatVersion: 1, opslimit: 3, memlimit: 64 << 20, salt: r.bytes(16), keyCheck: r.bytes(32), recoveryPublicKey: recovery.publicKey } });
    while (a.entries.length < 2 * B + 100) a.append(sealedObject(r, 1));
    a.append({ kind: 'succession', body: { newKey: next.publicKey } });
    a.signer = next;
    while (a.entries.length < N) a.append(sealedObject(r, 1));
    const sender = senderWith(a.entries.map((e) => e.bytes));
    const receiver = tempCatalog(keyFrom(r));
    const { sync, warnings } = await pair(sender, receiver);
    const res = await sync();
    expect(res.received).toBe(N);
    expect(warnings).toEqual([]);
    expect(headOf(receiver, a.key.publicKey)?.hash).toEqual(a.entries[N - 1]!.hash);
    expect(count(receiver, 'objects')).toBe(N - 2);
  });

  it('a forged entry in a late batch: refused, the sender named, the batches before it stored and nothing after', async () => {
    const r = seeded('sitelog/signature-thread forged');
    const a = new MemLog(keyFrom(r));
    while (a.entries.length < N) a.append(sealedObject(r, 1));
    const sender = senderWith(a.entries.map((e) => e.bytes));
    const before = VERIFY_AHEAD_BATCHES + 2; // whole batches ahead of the forged entry
    const bad = before * B + 10; // seq of the forged entry
    sender.prepare('UPDATE sitelog_entries SET bytes = ? WHERE seq = ?').run(forge(a.entries[bad - 1]!.bytes), bad);
    const receiver = tempCatalog(keyFrom(r));
    const { sync, senderPeer, warnings } = await pair(sender, receiver);
    const err = await sync().then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(LogRefused);
    expect((err as LogRefused).peerId).toBe(senderPeer);
    expect((err as LogRefused).cause.code).toBe('signature');
    expect((err as LogRefused).cause.seq).toBe(bad);
    expect(warnings.join('\n')).toContain(senderPeer);
    expect(count(receiver, 'sitelog_entries')).toBe(before * B);
    expect(headOf(receiver, a.key.publicKey)?.seq).toBe(before * B);
  });
});
