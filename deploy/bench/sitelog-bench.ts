/**
 * Site log benchmark (issue 14). Prints JSON: for N entries (BENCH_ENTRIES, default 100,000) of a
 * realistic mix (object-sealed with 3 chunks, placements), from memory:
 *  - encode + sign rate, decode + verify (chain and signature) rate — the baseline of any sync;
 *  - acceptRemote of the same entries into a fresh temp catalog, in batches of 1,000 as the sync
 *    protocol would deliver them (time, entries/s), with derived objects and placements;
 *  - log sync (/lomo/log/1.0.0) of the same entries between two libp2p nodes on loopback: the
 *    sender's catalog holds the log, the receiver's is empty; time until the receiver stored and
 *    acknowledged all of them. Both nodes run in one child process (one thread does the work of
 *    both: a conservative figure), whose peak RSS is reported on its own;
 * and the process's peak RSS (and the machine's load average, as the other benchmarks record).
 * Run after `npx tsc -p tsconfig.json`: node dist/deploy/bench/sitelog-bench.js
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openCatalog } from '../../storage/catalog/db.js';
import { encodeBody } from '../../storage/sitelog/body.js';
import { emptyLog, verifyNext } from '../../storage/sitelog/chain.js';
import { decodeEntry, ZERO_HASH, type SiteLogEntry } from '../../storage/sitelog/entry.js';
import { signEntry, signingKeyFromSeed } from '../../storage/sitelog/sign.js';
import { acceptRemote } from '../../storage/sitelog/store.js';
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createLibp2p, type Libp2p } from 'libp2p';
import { tcp } from '@libp2p/tcp';
import { noise } from '@chainsafe/libp2p-noise';
import { yamux } from '@chainsafe/libp2p-yamux';
import { logService } from '../../protocol/log/index.js';
import type { ServiceComponents } from '../../protocol/service.js';

if (process.argv[2] === '--sync-child') {
  // The sync measurement, in its own process so its peak RSS is its own.
  const r = await syncChild(process.argv[3]!, process.argv[4]!);
  console.log(JSON.stringify(r));
  process.exit(0);
}

/** Two nodes, one sender catalog (`from`) and one empty receiver catalog (`to`): time one full sync. */
async function syncChild(from: string, to: string): Promise<Record<string, number>> {
  const mk = () => createLibp2p({ addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] }, transports: [tcp()], connectionEncrypters: [noise()], streamMuxers: [yamux()] });
  const [ha, hb] = await Promise.all([mk(), mk()]);
  const quiet = { info: () => {}, warn: (m: string) => console.error(m) };
  const service = (h: Libp2p, db: ReturnType<typeof openCatalog>, other: Libp2p) => {
    const c: ServiceComponents = { host: h, trust: { trusted: (id) => id === other.peerId.toString() }, log: quiet };
    return logService({ db, acceptsOrigin: () => true })(c);
  };
  const dba = openCatalog(from);
  const dbb = openCatalog(to);
  const sa = service(ha, dba, hb);
  const sb = service(hb, dbb, ha);
  await Promise.all([sa.start(), sb.start()]);
  await hb.dial(ha.getMultiaddrs()[0]!);
  const t0 = performance.now();
  let peakHeap = 0, peakExt = 0;
  const probe = setInterval(() => { const u = process.memoryUsage(); peakHeap = Math.max(peakHeap, u.heapTotal); peakExt = Math.max(peakExt, u.external + u.arrayBuffers); }, 50);
  const r = await sb.sync(ha.peerId.toString());
  clearInterval(probe);
  if (process.env.BENCH_MEM) console.error(JSON.stringify({ peakHeapTotalMB: peakHeap >> 20, peakExtMB: peakExt >> 20 }));
  const seconds = (performance.now() - t0) / 1000;
  const stored = dbb.prepare('SELECT count(*) FROM sitelog_entries').pluck().get() as number;
  await Promise.all([ha.stop(), hb.stop()]);
  return { seconds: +seconds.toFixed(3), perSecond: Math.round(r.received / seconds), received: r.received, stored, rounds: r.rounds, peakRssMB: Math.round(process.resourceUsage().maxRSS / 1024) };
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
  const sync = JSON.parse(
    execFileSync(process.execPath, [fileURLToPath(import.meta.url), '--sync-child', senderFile, path.join(dir, 'receiver.db')], { encoding: 'utf8', maxBuffer: 1 << 20 }),
  );
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
        peakRssMB: Math.round(process.resourceUsage().maxRSS / 1024),
        loadavg: os.loadavg().map((x) => +x.toFixed(2)),
        node: process.version,
      },
      null,
      2,
    ),
  );
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
