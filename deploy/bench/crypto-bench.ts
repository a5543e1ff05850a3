/**
 * Encryption benchmark (issue 4). Prints JSON comparing, on the ISO benchmark's photo-like tree
 * (500 x 2 MB + 12 x 30 MB, deterministic bytes, warm page cache), runs alternated, medians:
 *  - `plain`:     `lomo-peer iso create --partial --no-encrypt` (lomob's plain .iso, SHA-256 of it)
 *  - `encrypted`: `lomo-peer iso create --partial` (ISO writer -> secretstream -> 8 MiB chunks with
 *                 SHA-256 + Merkle roots -> file:// tier, plus the encrypted manifest)
 * with peak RSS of each process (/usr/bin/time), and the baselines measured in the same run:
 * secretstream (sodium-native, WebAssembly, and on OpenSSL through our addon), SHA-256, and the object writer fed from memory.
 * Env: BENCH_DIR (.bench), BENCH_RUNS (3), BENCH_PHOTOS (500), BENCH_VIDEOS (12).
 */
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { ensurePhotoTree, settle, timedRun, warmPageCache } from './bench-tree.js';
import { loadSodium, TAG, type Sodium } from '../../storage/crypto/sodium.js';
import { SiteKeys } from '../../storage/crypto/keys.js';
import { ObjectWriter } from '../../storage/objects/writer.js';
import { loadBlake3 } from '../../storage/crypto/blake3.js';
import { loadSha256x2, SHA256X2_STATE_BYTES } from '../../storage/crypto/sha256x2.js';
import { loadOpenSslPush } from '../../storage/crypto/secretstream-openssl.js';
import type { Tier } from '../../storage/tiers/tier.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const cli = path.resolve(here, '../../../bin/lomo-peer.js');
const PASS = 'benchmark passphrase, not a secret';
const MB = 1e6;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** The CLI under /usr/bin/time (bench-tree.ts timedRun), with the benchmark's passphrase. */
const timed = (args: string[]) => timedRun(process.execPath, [cli, ...args], { ...process.env, LOMOB_MASTER_KEY: PASS });

/** GB/s of secretstream push over 1 MiB messages for `total` bytes. */
function secretstreamRate(s: Sodium, total: number): number {
  const key = s.randomBytes(32);
  const { state } = s.pushInit(key);
  const m = randomBytes(1 << 20);
  const out = Buffer.alloc(m.length + 17);
  const t = performance.now();
  for (let done = 0; done < total; done += m.length) s.push(state, m, null, TAG.MESSAGE, out);
  return total / ((performance.now() - t) / 1000) / 1e9;
}

/**
 * GB/s of the same push on OpenSSL's ChaCha20/Poly1305 (our addon, what the encryption workers
 * use when it is there), from a state libsodium set up; null without the addon.
 */
function openSslPushRate(s: Sodium, total: number): number | null {
  const fast = loadOpenSslPush();
  if (!fast || s.backend !== 'native') return null;
  const state = s.pushInit(s.randomBytes(32)).state as unknown as Uint8Array; // sodium-native's 52-byte state
  const m = randomBytes(1 << 20);
  const out = Buffer.alloc(m.length + 17);
  const t = performance.now();
  for (let done = 0; done < total; done += m.length) fast.push(state, out, m, null, TAG.MESSAGE);
  return total / ((performance.now() - t) / 1000) / 1e9;
}

/** GB/s of BLAKE3 over 64 KiB leaves (the Merkle leaf hash), native backend. */
async function blake3LeafRate(total: number): Promise<number> {
  const b3 = await loadBlake3('native');
  const m = randomBytes(8 << 20);
  const t = performance.now();
  for (let done = 0; done < total; done += m.length) for (let o = 0; o < m.length; o += 65536) b3.hash(m.subarray(o, o + 65536));
  return total / ((performance.now() - t) / 1000) / 1e9;
}

/** GB/s of two SHA-256 streams together through the project's addon (null without it). */
function sha256TwoStreamRate(total: number): number | null {
  const x2 = loadSha256x2();
  if (!x2) return null;
  const a = new Uint8Array(SHA256X2_STATE_BYTES);
  const b = new Uint8Array(SHA256X2_STATE_BYTES);
  x2.init(a);
  x2.init(b);
  const m = randomBytes(8 << 20);
  const t = performance.now();
  for (let done = 0; done < total; done += 2 * m.length) x2.update2(a, m, b, m.subarray(8));
  return total / ((performance.now() - t) / 1000) / 1e9;
}

function shaRate(total: number): number {
  const m = randomBytes(1 << 20);
  const h = createHash('sha256');
  const t = performance.now();
  for (let done = 0; done < total; done += m.length) h.update(m);
  h.digest();
  return total / ((performance.now() - t) / 1000) / 1e9;
}

/** The object writer alone (both workers, no disk): what encryption + hashing + chunking can do. */
async function writerRate(s: Sodium, total: number): Promise<number> {
  const nullTier = { kind: 'null', url: 'null://', put: async (key: string, b: Buffer) => ({ key, size: b.length }) } as unknown as Tier;
  const src = randomBytes(4 << 20);
  const w = new ObjectWriter({ sodium: s, keys: new SiteKeys(s, randomBytes(32)), tier: nullTier, kind: 'volume', maxPlainSize: total });
  const t = performance.now();
  await pipeline(Readable.from((function* () { for (let o = 0; o < total; o += src.length) yield src; })()), w);
  await w.result;
  return total / ((performance.now() - t) / 1000) / MB;
}

async function main(): Promise<void> {
  const benchDir = path.resolve(process.env.BENCH_DIR ?? '.bench');
  const runs = Number(process.env.BENCH_RUNS ?? 3);
  const tree = path.join(benchDir, 'photo-tree');
  const work = path.join(benchDir, 'crypto-work');
  fs.rmSync(work, { recursive: true, force: true });
  fs.mkdirSync(work, { recursive: true });
  const { files, bytes } = ensurePhotoTree(tree);
  warmPageCache(tree);

  // One scanned + initialized catalog; every run starts from a fresh copy (same site identity).
  const db0 = path.join(work, 'base.db');
  timed(['--db', db0, 'scan', tree]);
  timed(['--db', db0, 'init', '--objects-dir', path.join(work, 'objects-unused')]);
  const fresh = (name: string) => {
    const db = path.join(work, name);
    for (const s of ['', '-wal', '-shm']) if (fs.existsSync(db0 + s)) fs.copyFileSync(db0 + s, db + s);
    return db;
  };
  const plain: ReturnType<typeof timed>[] = [];
  const enc: ReturnType<typeof timed>[] = [];
  let imageBytes = 0;
  let cipherBytes = 0;
  // Every timed run starts from the same state: the previous run's output removed, synced, settled
  // (bench-tree.ts `settle`, the protocol of bench:iso).
  const loadAtStart = fs.readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).map(Number);
  for (let i = 0; i < runs; i++) {
    const store = path.join(work, `store${i}`);
    fs.mkdirSync(store);
    settle();
    const p = timed(['--db', fresh(`plain${i}.db`), 'iso', 'create', '--partial', '--no-encrypt', '-p', store, '--json']);
    plain.push(p);
    imageBytes = JSON.parse(p.stdout).volumes.reduce((s: number, v: { size: number }) => s + v.size, 0);
    fs.rmSync(store, { recursive: true, force: true });

    const objects = path.join(work, `objects${i}`);
    settle();
    const e = timed(['--db', fresh(`enc${i}.db`), 'iso', 'create', '--partial', '--objects-dir', objects, '--json']);
    enc.push(e);
    cipherBytes = 0;
    for (const d of fs.readdirSync(objects)) for (const c of fs.readdirSync(path.join(objects, d))) cipherBytes += fs.statSync(path.join(objects, d, c)).size;
    fs.rmSync(objects, { recursive: true, force: true });
  }

  const native = await loadSodium('native').catch(() => null);
  const wasm = await loadSodium('wasm');
  const baseline = {
    secretstreamNativeGBps: native ? +secretstreamRate(native, 2 * 2 ** 30).toFixed(2) : null,
    secretstreamWasmGBps: +secretstreamRate(wasm, 512 << 20).toFixed(2),
    secretstreamOpenSslGBps: ((r) => (r === null ? null : +r.toFixed(2)))(native && openSslPushRate(native, 2 * 2 ** 30)),
    sha256GBps: +shaRate(2 * 2 ** 30).toFixed(2),
    blake3LeavesGBps: +(await blake3LeafRate(2 * 2 ** 30)).toFixed(2),
    sha256TwoStreamsGBps: ((r) => (r === null ? null : +r.toFixed(2)))(sha256TwoStreamRate(4 * 2 ** 30)),
    objectWriterFromMemoryMBps: Math.round(await writerRate(native ?? wasm, 2 * 2 ** 30)),
  };
  fs.rmSync(work, { recursive: true, force: true });

  const rate = (xs: ReturnType<typeof timed>[]) => imageBytes / median(xs.map((x) => x.seconds)) / MB;
  // What the encrypted run must spend beyond the plain one, from this run's baselines: encryption,
  // two more SHA-256 passes (object ciphertext, chunk ciphertext; one two-stream pass with the
  // addon) and the BLAKE3 Merkle leaves.
  const GB = imageBytes / 1e9;
  const extraCpuSeconds =
    GB / (baseline.secretstreamOpenSslGBps ?? baseline.secretstreamNativeGBps ?? baseline.secretstreamWasmGBps) +
    (2 * GB) / (baseline.sha256TwoStreamsGBps ?? baseline.sha256GBps) +
    GB / baseline.blake3LeavesGBps;
  const summary = (xs: ReturnType<typeof timed>[]) => ({
    medianSeconds: +median(xs.map((x) => x.seconds)).toFixed(2),
    MBps: Math.round(rate(xs)),
    cpuSeconds: xs.map((x) => x.cpuSeconds),
    otherCpuSeconds: xs.map((x) => x.otherCpuSeconds),
    peakRssMB: Math.round(Math.max(...xs.map((x) => x.rssMB))),
    seconds: xs.map((x) => +x.seconds.toFixed(2)),
  });
  // A round is uncontended when, during both its runs, the rest of the machine used < 0.25 CPU-s.
  const quiet = plain.map((p, i) => [p, enc[i]!] as const).filter(([p, e]) => p.otherCpuSeconds < 0.25 && e.otherCpuSeconds < 0.25);
  const result = {
    tree: { files, bytes },
    imageBytes,
    cipherBytes,
    runs,
    plain: summary(plain),
    encrypted: summary(enc),
    ratio: +(rate(enc) / rate(plain)).toFixed(2),
    // Over the rounds in which neither run shared the cores with anything else (null if none).
    ratioUncontended: quiet.length ? +(median(quiet.map(([p, e]) => p.seconds)) / median(quiet.map(([p, e]) => e.seconds))).toFixed(2) : null,
    uncontendedRounds: quiet.length,
    cpuSecondsMedian: { plain: median(plain.map((x) => x.cpuSeconds)), encrypted: median(enc.map((x) => x.cpuSeconds)) },
    // The least CPU the encrypted run can need: the plain run's plus the extra passes above; on 2
    // cores it cannot finish faster than half of that.
    encryptedCpuFloorSeconds: +(median(plain.map((x) => x.cpuSeconds)) + extraCpuSeconds).toFixed(2),
    baseline,
    loadAverage: { start: loadAtStart, end: fs.readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).map(Number) },
    targets: { ratio: 0.5, peakRssMB: 200 },
  };
  process.stdout.write(JSON.stringify(result, null, 2) + '\n');
}

await main();
