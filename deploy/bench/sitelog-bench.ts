/**
 * Site log benchmark (issue 14). Prints JSON: for N entries (BENCH_ENTRIES, default 100,000) of a
 * realistic mix (object-sealed with 3 chunks, placements), from memory:
 *  - encode + sign rate, decode + verify (chain and signature) rate — the baseline of any sync;
 *  - acceptRemote of the same entries into a fresh temp catalog, in batches of 1,000 as the sync
 *    protocol would deliver them (time, entries/s), with derived objects and placements;
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
  const objects = db.prepare('SELECT count(*) FROM objects').pluck().get();
  const placements = db.prepare('SELECT count(*) FROM placements').pluck().get();
  db.close();
  const dbBytes = fs.readdirSync(dir).reduce((s, f) => s + fs.statSync(path.join(dir, f)).size, 0);
  console.log(
    JSON.stringify(
      {
        entries: N,
        entryBytes: { total: totalBytes, mean: Math.round(totalBytes / N) },
        encodeAndSign: { seconds: +signS.toFixed(3), perSecond: Math.round(N / signS) },
        decodeAndVerify: { seconds: +verifyS.toFixed(3), perSecond: Math.round(N / verifyS) },
        acceptRemote: { seconds: +acceptS.toFixed(3), perSecond: Math.round(N / acceptS), batch: 1000, objects, placements, catalogBytes: dbBytes },
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
