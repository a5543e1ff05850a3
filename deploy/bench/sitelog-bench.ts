/**
 * Site log benchmark (issue 14). Prints JSON: for N entries (BENCH_ENTRIES, default 100,000) of a
 * realistic mix (object-sealed with 3 chunks, placements), from memory:
 *  - encode + sign rate, decode + verify (chain and signature) rate — the baseline of any sync;
 *  - acceptRemote of the same entries into a fresh temp catalog, in batches of 1,000 as the sync
 *    protocol would deliver them (time, entries/s), with derived objects and placements;
 *  - log sync (/lomo/log/1.0.0) of the same entries between two libp2p nodes on loopback: the
 *    sender's catalog holds the log, the receiver's is empty; time until the receiver stored and
 *    acknowledged all of them. Each node runs in its own child process, so each node's peak RSS
 *    is its own (the machine's two cores are shared by both, as two real nodes on one host), with
 *    the node's stream window and heap setting (tuneHeap); cpuSeconds is the
 *    receiving process's CPU time, all threads (steadier than wall time on a shared machine);
 * and the process's peak RSS (and the machine's load average, as the other benchmarks record).
 * Run after `npx tsc -p tsconfig.json`: node dist/deploy/bench/sitelog-bench.js
 * Knobs: BENCH_KEEP=1 keeps the temp folder, and `... sitelog-bench.js --sync-only <dir>/sender.db`
 * then repeats only the sync; BENCH_MEM=1 adds V8's heap spaces at the peak; BENCH_DEBUG=1 prints
 * the nodes' info lines; BENCH_SENDER_ARGS / BENCH_RECEIVER_ARGS pass node options to one side
 * (--cpu-prof, --trace-gc); BENCH_HEAP_PROF=<file> writes the receiver's sampled allocations that
 * lived to a full collection; BENCH_NO_HEAP_FLAG=1 leaves V8's heap untuned (no tuneHeap) and
 * BENCH_V8_FLAGS sets other V8 flags (for comparisons).
 */
import fs from 'node:fs';
import { ownPeakRssMB } from './bench-tree.js';
import os from 'node:os';
import path from 'node:path';
import v8 from 'node:v8';
import { openCatalog } from '../../storage/catalog/db.js';
import { encodeBody } from '../../storage/sitelog/body.js';
import { emptyLog, verifyNext } from '../../storage/sitelog/chain.js';
import { decodeEntry, ZERO_HASH, type SiteLogEntry } from '../../storage/sitelog/entry.js';
import { signEntry, signingKeyFromSeed } from '../../storage/sitelog/sign.js';
import { acceptRemote } from '../../storage/sitelog/store.js';
import { createHash } from 'node:crypto';
import { spawn } from 'node:child_process';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { createLibp2p } from 'libp2p';
import { tcp } from '@libp2p/tcp';
import { noise } from '@chainsafe/libp2p-noise';
import { yamux } from '@chainsafe/libp2p-yamux';
import { logService } from '../../protocol/log/index.js';
import { MAX_STREAM_WINDOW } from '../../node/host/host.js';
import { tuneHeap } from '../../node/heap.js';
import type { ServiceComponents } from '../../protocol/service.js';

if (process.argv[2] === '--sync-node') {
  // One node of the sync measurement, in its own process so its peak RSS is its own.
  await syncNode(process.argv[3] as 'sender' | 'receiver', process.argv[4]!, process.argv[5]);
  process.exit(0);
}

/**
 * One node of the sync: the sender (`role` sender, its catalog holds the log) prints its address
 * and waits; the receiver (empty catalog) dials it, runs one full sync and prints the result.
 * Each prints its peak RSS when done (the sender when its stdin closes).
 */
async function syncNode(role: 'sender' | 'receiver', dbFile: string, dialAddr?: string): Promise<void> {
  if (!process.env.BENCH_NO_HEAP_FLAG) tuneHeap(); // as `lomo-peer node` does
  if (process.env.BENCH_V8_FLAGS) v8.setFlagsFromString(process.env.BENCH_V8_FLAGS);
  // The node's stream window (node/host/host.ts): what bounds a paused stream's buffer.
  const h = await createLibp2p({
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] }, transports: [tcp()], connectionEncrypters: [noise()],
    streamMuxers: [yamux({ streamOptions: { maxStreamWindowSize: MAX_STREAM_WINDOW } })],
  });
  const quiet = { info: (m: string) => { if (process.env.BENCH_DEBUG) console.error(role, m); }, warn: (m: string) => console.error(role, m) };
  const db = openCatalog(dbFile);
  const c: ServiceComponents = { host: h, trust: { trusted: () => true }, log: quiet };
  const s = logService({ db, acceptsOrigin: () => true })(c);
  await s.start();
  let peakHeap = 0, peakExt = 0;
  let spaces: Record<string, number> = {};
  const probe = setInterval(() => {
    const u = process.memoryUsage();
    if (u.heapTotal > peakHeap && process.env.BENCH_MEM) spaces = Object.fromEntries(v8.getHeapSpaceStatistics().map((x) => [x.space_name, x.space_size >> 20]));
    peakHeap = Math.max(peakHeap, u.heapTotal);
    peakExt = Math.max(peakExt, u.external + u.arrayBuffers);
  }, 50);
  const cpu0 = process.cpuUsage();
  const mem = () => ({ cpuSeconds: +((process.cpuUsage(cpu0).user + process.cpuUsage(cpu0).system) / 1e6).toFixed(2), peakRssMB: ownPeakRssMB(), maxRssMB: Math.round(process.resourceUsage().maxRSS / 1024), peakHeapTotalMB: peakHeap >> 20, peakExtMB: peakExt >> 20, ...(process.env.BENCH_MEM ? { spacesAtPeakMB: spaces } : {}) });
  if (role === 'sender') {
    console.log(JSON.stringify({ addr: h.getMultiaddrs()[0]!.toString() }));
    await new Promise<void>((resolve) => { process.stdin.on('end', resolve); process.stdin.resume(); });
    clearInterval(probe);
    console.log(JSON.stringify(mem()));
  } else {
    const { multiaddr } = await import('@multiformats/multiaddr');
    const conn = await h.dial(multiaddr(dialAddr!));
    // BENCH_HEAP_PROF=<file>: sampled allocations that lived long enough to be promoted (what makes the old generation grow).
    const { Session } = await import('node:inspector/promises');
    const session = process.env.BENCH_HEAP_PROF ? new Session() : null;
    if (session) {
      session.connect();
      await session.post('HeapProfiler.startSampling', { samplingInterval: 16384, includeObjectsCollectedByMajorGC: true } as never);
    }
    const t0 = performance.now();
    const r = await s.sync(conn.remotePeer.toString());
    const seconds = (performance.now() - t0) / 1000;
    if (session) fs.writeFileSync(process.env.BENCH_HEAP_PROF!, JSON.stringify((await session.post('HeapProfiler.stopSampling')).profile));
    clearInterval(probe);
    const stored = db.prepare('SELECT count(*) FROM sitelog_entries').pluck().get() as number;
    console.log(JSON.stringify({ seconds: +seconds.toFixed(3), perSecond: Math.round(r.received / seconds), received: r.received, stored, rounds: r.rounds, ...mem() }));
  }
  await h.stop();
  db.close();
}

/** Extra node options for one side (BENCH_SENDER_ARGS / BENCH_RECEIVER_ARGS, space-separated: --cpu-prof, --max-semi-space-size=8...). */
const nodeArgs = (side: string) => (process.env[`BENCH_${side}_ARGS`] ?? '').split(' ').filter(Boolean);

/** Runs the sender and the receiver node, each in its own process; returns the receiver's result and both peak RSS. */
async function syncTwoProcesses(senderDb: string, receiverDb: string): Promise<Record<string, unknown>> {
  const self = fileURLToPath(import.meta.url);
  const lines = (p: ReturnType<typeof spawn>) => {
    const rl = readline.createInterface({ input: p.stdout! });
    const it = rl[Symbol.asyncIterator]();
    // The next JSON line; anything else (--trace-gc output, say) goes to stderr.
    return async () => {
      for (;;) {
        const line = (await it.next()).value as string | undefined;
        if (line === undefined || line.startsWith('{')) return JSON.parse(line ?? 'null');
        console.error(line);
      }
    };
  };
  const sender = spawn(process.execPath, [...process.execArgv, ...nodeArgs('SENDER'), self, '--sync-node', 'sender', senderDb], { stdio: ['pipe', 'pipe', 'inherit'] });
  const fromSender = lines(sender);
  const { addr } = await fromSender();
  const receiver = spawn(process.execPath, [...process.execArgv, ...nodeArgs('RECEIVER'), self, '--sync-node', 'receiver', receiverDb, addr], { stdio: ['ignore', 'pipe', 'inherit'] });
  const result = await lines(receiver)();
  sender.stdin!.end();
  const senderMem = await fromSender();
  if (!result) throw new Error('the receiving node printed no result');
  return { ...result, receiverPeakRssMB: result.peakRssMB, senderPeakRssMB: senderMem?.peakRssMB, sender: senderMem };
}

if (process.argv[2] === '--sync-only') {
  // Repeats only the sync, from a sender catalog a BENCH_KEEP=1 run left behind.
  const receiverDb = path.join(os.tmpdir(), `lomo-sitelog-bench-receiver-${process.pid}.db`);
  try {
    console.log(JSON.stringify({ logSync: await syncTwoProcesses(process.argv[3]!, receiverDb), loadavg: os.loadavg().map((x) => +x.toFixed(2)) }));
  } finally {
    for (const f of ['', '-wal', '-shm']) fs.rmSync(receiverDb + f, { force: true });
  }
  process.exit(0);
}

const N = Number(process.env.BENCH_ENTRIES ?? 100_000);
const det = (label: string, n: number) => {
  const out = Buffer.alloc(n);
  for (let i = 0; i < n; i += 32) createHash('sha256').update(`${label}:${i}`).digest().copy(out, i);
  return out;
};

const owner = signingKeyFromSeed(det('owner', 32));
const peer = signingKeyFromSeed(det('peer', 32));
const bodies: { kind: number; body: Buffer }[] = [];
for (let i = 0; bodies.length < N; i++) {
  const objectId = det(`obj${i}`, 16);
  bodies.push(
    encodeBody({
      kind: 'objectSealed',
      body: {
        objectId, objectKind: 'file', formatVersion: 1, messageSize: 1 << 20, chunkPlain: 8 << 20, plainSize: 20 << 20, cipherSize: (20 << 20) + 300,
        cipherSha256: det(`c${i}`, 32), chunks: [0, 1, 2].map((j) => ({ size: j < 2 ? 8388808 : 4194700, sha256: det(`s${i}.${j}`, 32), merkleRoot: det(`m${i}.${j}`, 32) })),
      },
    }),
  );
  if (bodies.length < N) {
    bodies.push(encodeBody({ kind: 'placement', body: { owner: owner.publicKey, objectId, chunkIndex: null, holder: { site: peer.publicKey }, state: 'held', verifiedAt: 1_700_000_000_000 + i } }));
  }
}

let t = performance.now();
const entries: SiteLogEntry[] = [];
let prev: Buffer = ZERO_HASH;
for (let i = 0; i < N; i++) {
  const e = signEntry({ ...bodies[i]!, origin: owner.publicKey, seq: i + 1, prev, time: 1_700_000_000_000 + i }, owner);
  prev = e.hash;
  entries.push(e);
}
const signS = (performance.now() - t) / 1000;
const bytes = entries.map((e) => e.bytes);
const totalBytes = bytes.reduce((s, b) => s + b.length, 0);

t = performance.now();
let state = emptyLog(owner.publicKey);
for (const b of bytes) state = verifyNext(state, decodeEntry(b));
const verifyS = (performance.now() - t) / 1000;

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lomo-sitelog-bench-'));
try {
  const db = openCatalog(path.join(dir, 'lomob.db'));
  t = performance.now();
  for (let i = 0; i < N; i += 1000) acceptRemote(db, bytes.slice(i, i + 1000));
  const acceptS = (performance.now() - t) / 1000;
  // The sender of the sync holds exactly this log: the accepting catalog's entries, copied raw.
  const senderFile = path.join(dir, 'sender.db');
  const sender = openCatalog(senderFile);
  sender.exec(`ATTACH DATABASE '${path.join(dir, 'lomob.db')}' AS src;
    INSERT INTO sitelog_entries SELECT * FROM src.sitelog_entries; INSERT INTO sitelog_heads SELECT * FROM src.sitelog_heads; DETACH DATABASE src;`);
  sender.close();
  const sync = await syncTwoProcesses(senderFile, path.join(dir, 'receiver.db'));
  const objects = db.prepare('SELECT count(*) FROM objects').pluck().get();
  const placements = db.prepare('SELECT count(*) FROM placements').pluck().get();
  db.close();
  const dbBytes = fs.readdirSync(dir).filter((f) => f.startsWith('lomob.db')).reduce((s, f) => s + fs.statSync(path.join(dir, f)).size, 0);
  console.log(
    JSON.stringify(
      {
        entries: N,
        entryBytes: { total: totalBytes, mean: Math.round(totalBytes / N) },
        encodeAndSign: { seconds: +signS.toFixed(3), perSecond: Math.round(N / signS) },
        decodeAndVerify: { seconds: +verifyS.toFixed(3), perSecond: Math.round(N / verifyS) },
        acceptRemote: { seconds: +acceptS.toFixed(3), perSecond: Math.round(N / acceptS), batch: 1000, objects, placements, catalogBytes: dbBytes },
        logSync: sync,
        peakRssMB: ownPeakRssMB(),
        loadavg: os.loadavg().map((x) => +x.toFixed(2)),
        node: process.version,
      },
      null,
      2,
    ),
  );
} finally {
  if (process.env.BENCH_KEEP) console.error(`kept ${dir} (sender catalog: ${path.join(dir, 'sender.db')})`);
  else fs.rmSync(dir, { recursive: true, force: true });
}
