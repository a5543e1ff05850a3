/**
 * ISO benchmark (issue 3). Prints JSON comparing, over the same photo-like tree (default 500 x 2 MB
 * + 12 x 30 MB, deterministic bytes) with a warm page cache, runs alternated, medians:
 *  - `writer`: our writer into a file through the same sink `iso create` uses (`copyImage`: one
 *    thread copies, SHA-256 of the image on a second), in a child process, without the final
 *    fsync (genisoimage does not fsync either); `writerNoHash`: the same without the SHA-256;
 *  - `genisoimage -R -J -o`, and `genisoimageFsync`: the same followed by `sync <image>` (an
 *    fsync of the image file), i.e. with the durability `iso create` gives a volume;
 *  - `isoCreateCli`: the real `lomo-peer iso create --no-encrypt --partial` on a scanned catalog
 *    (adds CLI start-up, pack-time stat checks, the fsync and catalog registration);
 * Every timed command starts from the same state: the previous image removed and an untimed `sync`
 * (no run pays for the writeback of the one before it). Reported per variant: wall time, CPU time
 * (user + sys, which shows what the shared cores cost; per run too), the CPU the rest of the machine
 * used meanwhile (the cores are shared: medians over the runs that had both cores are given too)
 * and peak RSS
 * (children's maxRSS); and peak RSS for a 1 GB volume (`iso create -s 1G`) and a 5 GB volume
 * (`iso create -s 5G` over the tree hard-linked 4 times). Options (env): BENCH_DIR (.bench), BENCH_RUNS (3),
 * BENCH_PHOTOS (500), BENCH_VIDEOS (12), BENCH_SKIP_5G=1, BENCH_SETTLE_MS (1000).
 * Child mode (used by the benchmark itself): iso-bench.js --child <entries.json> <out.iso> [--no-hash].
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fsp from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { ensurePhotoTree, settle, timedRun, warmPageCache } from './bench-tree.js';
import { buildVolume, type VolumeEntry } from '../../storage/iso/writer.js';
import { copyImage } from '../../storage/iso/pump.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const self = fileURLToPath(import.meta.url);
const cli = path.resolve(here, '../../../bin/lomo-peer.js');

async function child(entriesFile: string, out: string, noHash: boolean): Promise<void> {
  const entries = JSON.parse(fs.readFileSync(entriesFile, 'utf8')) as VolumeEntry[];
  const vol = buildVolume(entries, { volumeId: 'BENCH' });
  const fh = await fsp.open(out, 'w');
  const r = await copyImage(vol.cursor, fh, { sha256: !noHash });
  await fh.close();
  const bytes = r.bytes;
  const sha256 = r.sha256?.toString('hex') ?? null;
  process.stdout.write(JSON.stringify({ bytes, sha256, maxRssKB: process.resourceUsage().maxRSS }) + '\n');
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const MB = 1e6;

/** CPU seconds the whole machine has been busy (all cores: user, nice, system, irq, softirq, steal). */

const timed = (cmd: string, args: string[]) => timedRun(cmd, args);

/** A run counts as uncontended when the rest of the machine used less than this meanwhile. */
const QUIET_OTHER_CPU = 0.25;

function entriesOf(tree: string, copies: number, limitBytes = Infinity): VolumeEntry[] {
  const out: VolumeEntry[] = [];
  let total = 0;
  const files: string[] = [];
  for (const d of fs.readdirSync(tree).sort()) for (const f of fs.readdirSync(path.join(tree, d)).sort()) files.push(`${d}/${f}`);
  for (let c = 0; c < copies; c++) {
    for (const rel of files) {
      const st = fs.statSync(path.join(tree, rel));
      if (total + st.size > limitBytes) return out;
      total += st.size;
      out.push({ path: `${copies > 1 ? `copy${c}/` : ''}photo-tree/${rel}`, source: path.join(tree, rel), size: st.size, mtimeMs: st.mtimeMs, mode: 0o644, kind: 'file' });
    }
  }
  return out;
}

async function main(): Promise<void> {
  const benchDir = path.resolve(process.env.BENCH_DIR ?? '.bench');
  const runs = Number(process.env.BENCH_RUNS ?? 3);
  const loadAtStart = os.loadavg().map((x) => +x.toFixed(2));
  const tree = path.join(benchDir, 'photo-tree');
  const work = path.join(benchDir, 'iso-work');
  fs.rmSync(work, { recursive: true, force: true });
  fs.mkdirSync(work, { recursive: true });
  const { files, bytes } = ensurePhotoTree(tree);
  warmPageCache(tree);

  const entriesFile = path.join(work, 'entries.json');
  fs.writeFileSync(entriesFile, JSON.stringify(entriesOf(tree, 1)));
  // A scanned catalog for the real CLI; each run starts from a fresh copy of it.
  const db0 = path.join(work, 'scanned.db');
  const scan = spawnSync(process.execPath, [cli, '--db', db0, 'scan', tree], { encoding: 'utf8' });
  if (scan.status !== 0) throw new Error(`scan failed: ${scan.stderr}`);

  const out = path.join(work, 'out.iso');
  type Variant = 'writer' | 'writerNoHash' | 'genisoimage' | 'genisoimageFsync' | 'isoCreateCli';
  const m: Record<Variant, { seconds: number[]; cpu: number[]; other: number[]; rss: number; bytes: number }> = {
    writer: { seconds: [], cpu: [], other: [], rss: 0, bytes: 0 },
    writerNoHash: { seconds: [], cpu: [], other: [], rss: 0, bytes: 0 },
    genisoimage: { seconds: [], cpu: [], other: [], rss: 0, bytes: 0 },
    genisoimageFsync: { seconds: [], cpu: [], other: [], rss: 0, bytes: 0 },
    isoCreateCli: { seconds: [], cpu: [], other: [], rss: 0, bytes: 0 },
  };
  const record = (v: Variant, t: { seconds: number; cpuSeconds: number; otherCpuSeconds: number; rssMB: number }, bytes: number) => {
    m[v].seconds.push(t.seconds);
    m[v].cpu.push(t.cpuSeconds);
    m[v].other.push(t.otherCpuSeconds);
    m[v].rss = Math.max(m[v].rss, t.rssMB);
    m[v].bytes = bytes;
  };
  // Every timed command starts from the same clean state: the previous image removed, an untimed
  // `sync`, so that no run pays for the writeback (and dirty-page throttling) of the run before it
  // (genisoimage leaves its whole image dirty in the page cache), then a pause (BENCH_SETTLE_MS,
  // default 1000): this VM hands freed memory back to the host within ~0.1-3 s (free page
  // reporting), and a page touched again after that costs a host page fault; without the pause a
  // run that starts at once (genisoimage) writes into the 1.36 GB just freed while one that starts
  // 0.2 s later (node) races the reporter for it.
  const clean = () => {
    fs.rmSync(out, { force: true });
    settle();
  };
  for (let i = 0; i < runs; i++) {
    clean(); // the previous round's store is gone; this syncs and settles after it
    const w = timed(process.execPath, [self, '--child', entriesFile, out]);
    record('writer', w, JSON.parse(w.stdout).bytes);
    clean();

    const g = timed('genisoimage', ['-quiet', '-R', '-J', '-o', out, tree]);
    record('genisoimage', g, fs.statSync(out).size);
    clean();

    const n = timed(process.execPath, [self, '--child', entriesFile, out, '--no-hash']);
    record('writerNoHash', n, JSON.parse(n.stdout).bytes);
    clean();

    // genisoimage, then an fsync of its image (coreutils `sync FILE`): the durability `iso create`
    // gives a volume before it registers it.
    const gs = timed('bash', ['-c', 'genisoimage -quiet -R -J -o "$1" "$2" && sync "$1"', 'bash', out, tree]);
    record('genisoimageFsync', gs, fs.statSync(out).size);

    const db = path.join(work, `run${i}.db`);
    fs.copyFileSync(db0, db);
    const store = path.join(work, `store${i}`);
    fs.mkdirSync(store);
    clean(); // also removes genisoimageFsync's image
    const c = timed(process.execPath, [cli, '--db', db, 'iso', 'create', '--no-encrypt', '--partial', '-p', store, '--json']);
    record('isoCreateCli', c, JSON.parse(c.stdout).volumes[0].size);
    fs.rmSync(store, { recursive: true, force: true });
    for (const s of ['', '-wal', '-shm']) fs.rmSync(db + s, { force: true });
  }
  clean();

  // Peak RSS of the real CLI for a 1 GB volume.
  const db1 = path.join(work, 'one-gb.db');
  fs.copyFileSync(db0, db1);
  const store1 = path.join(work, 'store-1g');
  fs.mkdirSync(store1);
  const one = timed(process.execPath, [cli, '--db', db1, 'iso', 'create', '--no-encrypt', '-s', '1G', '-p', store1, '--json']);
  const oneVol = JSON.parse(one.stdout).volumes[0] as { size: number } | undefined;
  fs.rmSync(store1, { recursive: true, force: true });
  // 5 GB: the tree hard-linked 4 times (5.4 GB of files, no extra disk), scanned, one -s 5G volume.
  let five: { seconds: number; rssMB: number; bytes: number } | null = null;
  if (process.env.BENCH_SKIP_5G !== '1') {
    const tree5 = path.join(work, 'tree5');
    fs.mkdirSync(tree5);
    for (let c = 0; c < 4; c++) {
      if (spawnSync('cp', ['-al', tree, path.join(tree5, `copy${c}`)]).status !== 0) throw new Error('cp -al failed');
    }
    const db5 = path.join(work, 'five-gb.db');
    const s5 = spawnSync(process.execPath, [cli, '--db', db5, 'scan', tree5], { encoding: 'utf8' });
    if (s5.status !== 0) throw new Error(`scan failed: ${s5.stderr}`);
    const store5 = path.join(work, 'store-5g');
    fs.mkdirSync(store5);
    const w = timed(process.execPath, [cli, '--db', db5, 'iso', 'create', '--no-encrypt', '-s', '5G', '-p', store5, '--json']);
    const vol5 = JSON.parse(w.stdout).volumes[0] as { size: number } | undefined;
    five = { seconds: w.seconds, rssMB: w.rssMB, bytes: vol5?.size ?? 0 };
    fs.rmSync(store5, { recursive: true, force: true });
  }
  fs.rmSync(work, { recursive: true, force: true });

  const quietRuns = (v: Variant) => m[v].seconds.filter((_, i) => m[v].other[i]! < QUIET_OTHER_CPU);
  const quietMedian = (v: Variant) => {
    const q = quietRuns(v);
    return q.length === 0 ? null : +median(q).toFixed(3);
  };
  const summary = (v: Variant) => ({
    medianSeconds: +median(m[v].seconds).toFixed(3),
    MBps: Math.round(m[v].bytes / median(m[v].seconds) / MB),
    medianCpuSeconds: +median(m[v].cpu).toFixed(2),
    imageBytes: m[v].bytes,
    peakRssMB: Math.round(m[v].rss),
    seconds: m[v].seconds.map((x) => +x.toFixed(3)),
    cpuSeconds: m[v].cpu.map((x) => +x.toFixed(2)),
    otherCpuSeconds: m[v].other.map((x) => +x.toFixed(2)),
    // Median over the runs that had both cores (otherCpuSeconds < QUIET_OTHER_CPU); null if none.
    uncontendedMedianSeconds: quietMedian(v),
    uncontendedRuns: quietRuns(v).length,
  });
  const uncontended = (v: Variant) => {
    const q = quietMedian(v);
    return q === null ? null : m[v].bytes / q;
  };
  const quietRatio = (a: Variant, b: Variant) => {
    const x = uncontended(a);
    const y = uncontended(b);
    return x === null || y === null ? null : +(x / y).toFixed(2);
  };
  const speed = (v: Variant) => m[v].bytes / median(m[v].seconds);
  const result = {
    tree: { files, bytes },
    runs,
    // 1, 5 and 15-minute load averages when the benchmark started and when it ended (2 cores).
    loadAverage: { start: loadAtStart, end: os.loadavg().map((x) => +x.toFixed(2)) },
    writer: summary('writer'),
    writerNoHash: summary('writerNoHash'),
    genisoimage: summary('genisoimage'),
    genisoimageFsync: summary('genisoimageFsync'),
    isoCreateCli: summary('isoCreateCli'),
    ratio: {
      writerVsGenisoimage: +(speed('writer') / speed('genisoimage')).toFixed(2),
      writerNoHashVsGenisoimage: +(speed('writerNoHash') / speed('genisoimage')).toFixed(2),
      isoCreateCliVsGenisoimage: +(speed('isoCreateCli') / speed('genisoimage')).toFixed(2),
      isoCreateCliVsGenisoimageFsync: +(speed('isoCreateCli') / speed('genisoimageFsync')).toFixed(2),
      // The same from the uncontended runs only (see uncontendedMedianSeconds).
      uncontended: {
        writerVsGenisoimage: quietRatio('writer', 'genisoimage'),
        isoCreateCliVsGenisoimage: quietRatio('isoCreateCli', 'genisoimage'),
      },
    },
    peakRss: {
      volume1GB: { via: 'lomo-peer iso create -s 1G', imageBytes: oneVol?.size ?? null, MB: Math.round(one.rssMB) },
      volume5GB: five && { via: 'lomo-peer iso create -s 5G (tree hard-linked x4)', imageBytes: five.bytes, MB: Math.round(five.rssMB), MBps: Math.round(five.bytes / five.seconds / MB) },
    },
    targets: { ratio: 0.7, peakRssMB: 150 },
  };
  process.stdout.write(JSON.stringify(result, null, 2) + '\n');
}

if (process.argv[2] === '--child') await child(process.argv[3]!, process.argv[4]!, process.argv[5] === '--no-hash');
else await main();
