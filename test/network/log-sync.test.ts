import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLibp2p, type Libp2p } from 'libp2p';
import { tcp } from '@libp2p/tcp';
import { noise } from '@chainsafe/libp2p-noise';
import { yamux } from '@chainsafe/libp2p-yamux';
import { multiaddr } from '@multiformats/multiaddr';
import { loadOrCreateIdentity } from '../../node/identity.js';
import { encodeJson, FramedStream } from '../../protocol/framing.js';
import { LOG_PROTOCOL } from '../../protocol/log/index.js';
import { encodeBody } from '../../storage/sitelog/body.js';
import { decodeEntry, ZERO_HASH, type SiteLogEntry } from '../../storage/sitelog/entry.js';
import { signEntry, signingKeyFromSeed, type SigningKey } from '../../storage/sitelog/sign.js';
import { startFamily, type Family, type NodeProc } from '../support/nodes.js';
import { waitFor } from '../support/wait.js';

/**
 * Log sync between real nodes on loopback (issue 14 points 2 and 6): entries appended on A reach B
 * and C, reach C through B while A is offline, survive kill -9 of either side mid-sync with no
 * duplicate and no gap, and `sync --wait` says who holds this site's head.
 */

/** What a site's catalog holds of one log: head seq, entry count, highest seq (read-only, the node keeps running). */
function held(n: NodeProc, siteId: string): { seq: number; count: number; max: number } {
  const db = new Database(n.db, { readonly: true, fileMustExist: true });
  try {
    db.pragma('busy_timeout = 5000');
    const seq = (db.prepare('SELECT seq FROM sitelog_heads WHERE site_id = ?').pluck().get(siteId) as number | undefined) ?? 0;
    const origin = db.prepare('SELECT origin FROM sitelog_heads WHERE site_id = ?').pluck().get(siteId) as Buffer | undefined;
    const r = origin
      ? (db.prepare('SELECT count(*) AS count, ifnull(max(seq), 0) AS max FROM sitelog_entries WHERE origin = ?').get(origin) as { count: number; max: number })
      : { count: 0, max: 0 };
    return { seq, ...r };
  } finally {
    db.close();
  }
}

async function append(n: NodeProc, count: number): Promise<number> {
  const r = await n.run(['debug', 'log-append', '--count', String(count)]);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout).head as number;
}

/** Whole and gap-free: the head, the number of entries and the highest seq agree. */
function expectComplete(n: NodeProc, siteId: string, seq: number): void {
  expect(held(n, siteId)).toEqual({ seq, count: seq, max: seq });
}

/** Starts a stopped site again on its old port, so the addresses its family knows still reach it. */
const firstAddr = new Map<string, string>();
async function restart(family: Family, n: NodeProc): Promise<NodeProc> {
  if (!firstAddr.has(n.name)) firstAddr.set(n.name, n.addrs.find((a) => a.startsWith('/ip4/127.0.0.1/tcp/'))!);
  return family.add(n.name, ['--listen', firstAddr.get(n.name)!]);
}

const waitHolds = (n: NodeProc, siteId: string, seq: number, ms = 60_000) =>
  waitFor(() => held(n, siteId).seq >= seq, ms, `${n.name} to hold entry ${seq} of ${siteId.slice(-6)}'s log`, 100);

describe('log sync between three sites (loopback)', () => {
  let family: Family;
  let A: NodeProc, B: NodeProc, C: NodeProc;

  beforeAll(async () => {
    family = await startFamily(['Alice', 'Bob', 'Carol']);
    [A, B, C] = family.nodes as [NodeProc, NodeProc, NodeProc];
    await family.pair();
  });
  afterAll(async () => {
    await family?.stop();
  });

  it('entries appended on A reach B and C; sync --wait returns 0 once both acknowledged', async () => {
    // A's log already holds its signed membership entries (one per pairing): 50 more on top.
    const base = held(A, A.peerId).seq;
    const head = await append(A, 50);
    expect(head).toBe(base + 50);
    const r = await A.run(['--json', 'sync', '--wait', '--timeout', '60s']);
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report.head.seq).toBe(head);
    expect(report.missing).toEqual([]);
    expect(report.peers.map((p: any) => p.acknowledged)).toEqual([true, true]);
    expectComplete(B, A.peerId, head);
    expectComplete(C, A.peerId, head);
    // status --json: per peer, the heads it acknowledged (A's own log at its head).
    const st = await A.json<any>(['status']);
    for (const p of st.peers) expect(p.logHeads.find((h: any) => h.siteId === A.peerId)?.seq).toBe(head);
    expect(st.logs.seq).toBe(head);
    expect(st.logs.forked).toEqual([]);
  });

  it('entries reach C through B while A is offline; sync --wait exits 4 naming the offline peer', async () => {
    await C.stop();
    const head = await append(A, 40);
    await waitHolds(B, A.peerId, head);
    const r = await A.run(['sync', '--wait', '--timeout', '5s']);
    expect(r.code).toBe(4);
    expect(r.stderr).toContain(C.peerId);
    expect(r.stderr).toMatch(/offline/);
    await A.stop();
    C = await restart(family, C);
    await waitHolds(C, A.peerId, head);
    expectComplete(C, A.peerId, head);
    A = await restart(family, A);
  });

  it('kill -9 of the receiver during a sync: the next sync completes with no duplicate and no gap', async () => {
    await B.stop();
    const before = held(A, A.peerId).seq;
    const head = await append(A, 30_000);
    B = await restart(family, B);
    await waitFor(() => held(B, A.peerId).seq > before, 60_000, 'B to start receiving', 20);
    const partial = held(B, A.peerId).seq;
    await B.stop('SIGKILL');
    expect(partial).toBeLessThan(head); // killed mid-sync
    B = await restart(family, B);
    await waitHolds(B, A.peerId, head, 120_000);
    expectComplete(B, A.peerId, head);
    expect(B.stderr).not.toMatch(/reset/);
  });

  it('kill -9 of the sender during a sync: the next sync completes with no duplicate and no gap', async () => {
    await C.stop();
    const head = await append(A, 30_000);
    await B.stop(); // A alone holds the new entries: C must get them from A
    C = await restart(family, C);
    const before = held(C, A.peerId).seq;
    await waitFor(() => held(C, A.peerId).seq > before + 0, 60_000, 'C to start receiving', 20);
    const partial = held(C, A.peerId).seq;
    await A.stop('SIGKILL');
    expect(partial).toBeLessThan(head);
    A = await restart(family, A);
    await waitHolds(C, A.peerId, head, 120_000);
    expectComplete(C, A.peerId, head);
    B = await restart(family, B);
    await waitHolds(B, A.peerId, head, 120_000);
    expectComplete(B, A.peerId, head);
  });
});

describe('log sync with a hostile member (loopback)', () => {
  let family: Family;
  let A: NodeProc, M: NodeProc;
  let mallory: Libp2p;
  let key: SigningKey;
  /** Mallory's real log as her node left it (her signed membership entry from the pairing). */
  let own: SiteLogEntry[] = [];
  let base = 0;

  beforeAll(async () => {
    family = await startFamily(['Alice', 'Mallory']);
    [A, M] = family.nodes as [NodeProc, NodeProc];
    await family.pair();
    await M.run(['sync', '--wait', '--timeout', '60s']);
    await M.stop();
    const mdb = new Database(M.db, { readonly: true, fileMustExist: true });
    try {
      own = (mdb.prepare('SELECT bytes FROM sitelog_entries WHERE origin = (SELECT origin FROM sitelog_heads WHERE site_id = ?) ORDER BY seq').pluck().all(M.peerId) as Buffer[]).map((b) => decodeEntry(b));
    } finally {
      mdb.close();
    }
    base = own.length;
    expect(held(A, M.peerId).seq).toBe(base); // A holds Mallory's log so far; the attacks come after it
    const id = await loadOrCreateIdentity(M.dir);
    key = signingKeyFromSeed(id.privateKey.raw.subarray(0, 32));
    mallory = await createLibp2p({ privateKey: id.privateKey, transports: [tcp()], connectionEncrypters: [noise()], streamMuxers: [yamux()] });
    await mallory.start();
  });
  afterAll(async () => {
    await mallory?.stop();
    await family?.stop();
  });

  /** n new entries of Mallory's log after what A already holds, honestly signed (tests then damage what they send). */
  const log = (n: number, time = 1_700_000_000_000): SiteLogEntry[] => {
    const out: SiteLogEntry[] = [];
    for (let i = 1; i <= n; i++) {
      const prev = out[i - 2]?.hash ?? own[base - 1]?.hash ?? ZERO_HASH;
      out.push(signEntry({ kind: 4, origin: key.publicKey, seq: base + i, prev, time: time + i, body: placement(time + i) }, key));
    }
    return out;
  };
  const placement = (t: number) =>
    encodeBody({ kind: 'placement', body: { owner: key.publicKey, objectId: Buffer.alloc(16, t % 251), chunkIndex: null, holder: { tierUrl: 'debug:x' }, state: 'gone', verifiedAt: t } }).body;

  /** One log sync as Mallory: sends `frames` (binary payloads) as its entries; true if A completed the exchange. */
  async function push(frames: Uint8Array[], count = frames.length): Promise<boolean> {
    const stream = await mallory.dialProtocol(multiaddr(`${A.addrs.find((a) => a.includes('127.0.0.1'))}/p2p/${A.peerId}`), LOG_PROTOCOL, { signal: AbortSignal.timeout(10_000) });
    const fs = new FramedStream(stream, { maxFrame: 1 << 20, maxBinary: 2 << 20, readTimeoutMs: 10_000 });
    try {
      await fs.write(encodeJson({ t: 'heads', heads: [] }));
      await fs.readFrame(); // A's heads
      for (const f of frames) await fs.writeBinary(f);
      await fs.write(encodeJson({ t: 'end', entries: count, more: false }));
      for (;;) {
        const f = await fs.readFrame();
        if (f === null) return false;
        if (f.type === 'control' && JSON.parse(Buffer.from(f.body).toString()).t === 'ack') break;
      }
      await fs.write(encodeJson({ t: 'ack', heads: [] }));
      await fs.close();
      return true;
    } catch {
      return false;
    }
  }
  const stored = () => held(A, M.peerId).count - base;
  const refusedLine = (what: RegExp) => waitFor(() => what.test(A.stderr), 10_000, `A's warning ${what}`);

  it('a forged signature is refused, nothing stored, and the peer named', async () => {
    const entries = log(3);
    const bad = Buffer.from(entries[2]!.bytes);
    bad[bad.length - 1]! ^= 1;
    expect(await push([Buffer.concat([entries[0]!.bytes, entries[1]!.bytes, bad])], 3)).toBe(false);
    await refusedLine(new RegExp(`log sync with ${M.peerId} reset: refused site log entries from ${M.peerId}: site log of ${M.peerId} entry ${base + 3}: bad signature`));
    expect(stored()).toBe(0); // the batch is checked whole before any of it is stored
  });

  it('a broken chain, a gap and a truncated entry are refused and the peer named', async () => {
    const entries = log(3);
    const other = log(3, 1_800_000_000_000);
    expect(await push([Buffer.concat([entries[0]!.bytes, other[1]!.bytes])], 2)).toBe(false); // prev does not match
    await refusedLine(new RegExp(`entry ${base + 2}: previous hash does not match`));
    expect(await push([Buffer.concat([entries[0]!.bytes, entries[2]!.bytes])], 2)).toBe(false); // gap
    await refusedLine(new RegExp(`gap: entry ${base + 3} follows entry ${base + 1}`));
    expect(await push([entries[0]!.bytes.subarray(0, 150)], 1)).toBe(false);
    await refusedLine(/entry truncated/);
    expect(stored()).toBe(0);
  });

  it('an oversized frame is refused before it is buffered', async () => {
    expect(await push([Buffer.alloc(1024 * 1024 + 10)], 1)).toBe(false);
    await refusedLine(new RegExp(`log sync with ${M.peerId} reset: .*exceeds the limit`));
    expect(stored()).toBe(0);
  });

  it('a fork is kept as evidence and the site flagged in status', async () => {
    const entries = log(2);
    expect(await push([Buffer.concat(entries.map((e) => e.bytes))], 2)).toBe(true);
    expect(stored()).toBe(2);
    const fork = signEntry({ kind: 4, origin: key.publicKey, seq: base + 2, prev: entries[0]!.hash, time: 1, body: placement(1) }, key);
    await push([fork.bytes], 1);
    await refusedLine(new RegExp(`site log of ${M.peerId} has a fork`));
    const st = await A.json<any>(['status']);
    expect(st.logs.forked).toEqual([M.peerId]);
    expect(stored()).toBe(2); // the history A had stays
  });
});
