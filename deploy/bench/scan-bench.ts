/**
 * Scan benchmark (issue 2, issue 16). Prints JSON:
 *  - first scan of the photo-like tree (default 500 x 2 MB + 12 x 30 MB) through the real CLI, wall
 *    time, next to `find -print0 | xargs -0 -P<cores> openssl dgst -sha256` and `sha256sum` over the
 *    same files in the same run (warm page cache, runs alternated, each after bench-tree.ts `settle`,
 *    medians), with each run's CPU seconds and what the rest of the machine used meanwhile
 *    (`otherCpuSeconds`: on a shared machine a round with a large figure had less than the cores);
 *  - rescan of an unchanged tree of 100,000 small files;
 *  - peak RSS of every lomo-peer run.
 * Options (env): BENCH_DIR (default .bench), BENCH_RUNS (3), BENCH_SMALL_FILES (100000),
 * BENCH_PHOTOS (500), BENCH_VIDEOS (12), BENCH_SETTLE_MS (1000).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensurePhotoTree, ensureTree, settle, timedRun, warmPageCache, type TimedRun } from './bench-tree.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const cli = path.resolve(here, '../../../bin/lomo-peer.js');
const benchDir = path.resolve(process.env.BENCH_DIR ?? '.bench');
const runs = Number(process.env.BENCH_RUNS ?? 3);
const cores = os.availableParallelism();

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

function lomoScan(db: string, dir: string): TimedRun & { summary: { filesHashed: number; bytesHashed: number; unchangedFiles: number } } {
  const r = timedRun(process.execPath, [cli, '--db', db, 'scan', dir, '--json']);
  return { ...r, summary: JSON.parse(r.stdout) };
}

const loadAverage = () => fs.readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).map(Number);

function rmDb(db: string) {
  for (const s of ['', '-wal', '-shm']) fs.rmSync(db + s, { force: true });
}

const tree = path.join(benchDir, 'photo-tree');
const { files, bytes } = ensurePhotoTree(tree);
warmPageCache(tree);

const opensslRuns: TimedRun[] = [];
const sha256sumRuns: TimedRun[] = [];
const lomoRuns: TimedRun[] = [];
let peakRss = 0;
const db = path.join(benchDir, 'bench.db');
const loadAtStart = loadAverage();
for (let i = 0; i < runs; i++) {
  settle();
  opensslRuns.push(timedRun('bash', ['-c', `find '${tree}' -type f -print0 | xargs -0 -P${cores} -n 16 openssl dgst -sha256 > /dev/null`]));
  rmDb(db);
  settle();
  const r = lomoScan(db, tree);
  if (r.summary.filesHashed !== files) throw new Error(`scan hashed ${r.summary.filesHashed} files, expected ${files}`);
  lomoRuns.push(r);
  peakRss = Math.max(peakRss, r.rssMB);
  settle();
  sha256sumRuns.push(timedRun('bash', ['-c', `find '${tree}' -type f -print0 | xargs -0 sha256sum > /dev/null`]));
}
const loadAfterFirstScans = loadAverage();
const openssl = opensslRuns.map((r) => r.seconds);
const lomo = lomoRuns.map((r) => r.seconds);
const sha256sum = sha256sumRuns.map((r) => r.seconds);
// A round is uncontended when, during both its openssl and its lomo-peer run, the rest of the machine used < 0.25 CPU-s.
const quiet = opensslRuns.map((o, i) => [o, lomoRuns[i]!] as const).filter(([o, l]) => o.otherCpuSeconds < 0.25 && l.otherCpuSeconds < 0.25);
const mb = bytes / 1e6;

// Rescan of an unchanged tree of many small files.
const smallCount = Number(process.env.BENCH_SMALL_FILES ?? 100_000);
const small = path.join(benchDir, 'small-tree');
ensureTree(small, { groups: [{ count: smallCount, size: 2_000 }], perDir: 200, seed: 'lomo-bench-small' });
const smallDb = path.join(benchDir, 'small.db');
rmDb(smallDb);
const firstSmall = lomoScan(smallDb, small);
peakRss = Math.max(peakRss, firstSmall.rssMB);
const rescans: number[] = [];
for (let i = 0; i < runs; i++) {
  const r = lomoScan(smallDb, small);
  if (r.summary.filesHashed !== 0 || r.summary.unchangedFiles !== smallCount) throw new Error('rescan of an unchanged tree re-read files');
  rescans.push(r.seconds);
  peakRss = Math.max(peakRss, r.rssMB);
}

const result = {
  machine: { cores, node: process.version },
  tree: { files, bytes, runs },
  firstScan: {
    lomoSeconds: median(lomo),
    lomoMBps: +(mb / median(lomo)).toFixed(1),
    lomoFilesPerSecond: +(files / median(lomo)).toFixed(0),
    opensslParallelSeconds: median(openssl),
    opensslParallelMBps: +(mb / median(openssl)).toFixed(1),
    sha256sumSeconds: median(sha256sum),
    sha256sumMBps: +(mb / median(sha256sum)).toFixed(1),
    ratioVsOpensslParallel: +(median(openssl) / median(lomo)).toFixed(2),
    ratioUncontended: quiet.length ? +(median(quiet.map(([o]) => o.seconds)) / median(quiet.map(([, l]) => l.seconds))).toFixed(2) : null,
    uncontendedRounds: quiet.length,
    target: '>= 0.8x openssl parallel',
    // Per run, in round order: wall seconds, CPU seconds (user+sys, with children), and the CPU
    // seconds the rest of the machine used meanwhile.
    runs: Object.fromEntries(
      Object.entries({ lomo: lomoRuns, openssl: opensslRuns, sha256sum: sha256sumRuns }).map(([k, xs]) => [
        k,
        { seconds: xs.map((x) => +x.seconds.toFixed(2)), cpuSeconds: xs.map((x) => x.cpuSeconds), otherCpuSeconds: xs.map((x) => x.otherCpuSeconds) },
      ]),
    ),
    loadAverage: { start: loadAtStart, end: loadAfterFirstScans },
  },
  rescanUnchanged: {
    files: smallCount,
    firstScanSeconds: +firstSmall.seconds.toFixed(2),
    rescanSeconds: +median(rescans).toFixed(2),
    target: '<= 3 s',
  },
  peakRssMB: +peakRss.toFixed(1),
  peakRssTarget: '<= 200 MB',
};
process.stdout.write(JSON.stringify(result, null, 2) + '\n');
