/**
 * Scan benchmark (issue 2). Prints JSON:
 *  - first scan of the photo-like tree (default 500 x 2 MB + 12 x 30 MB) through the real CLI, wall
 *    time, next to `find -print0 | xargs -0 -P<cores> openssl dgst -sha256` and `sha256sum` over the
 *    same files in the same run (warm page cache, runs alternated, medians);
 *  - rescan of an unchanged tree of 100,000 small files;
 *  - peak RSS of every lomo-peer run.
 * Options (env): BENCH_DIR (default .bench), BENCH_RUNS (3), BENCH_SMALL_FILES (100000),
 * BENCH_PHOTOS (500), BENCH_VIDEOS (12).
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensurePhotoTree, ensureTree, warmPageCache } from './bench-tree.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const cli = path.resolve(here, '../../../bin/lomo-peer.js');
const benchDir = path.resolve(process.env.BENCH_DIR ?? '.bench');
const runs = Number(process.env.BENCH_RUNS ?? 3);
const cores = os.availableParallelism();

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

function time(cmd: string, args: string[], env: NodeJS.ProcessEnv = {}): { seconds: number; stdout: string; stderr: string } {
  const t0 = performance.now();
  const r = spawnSync(cmd, args, { env: { ...process.env, ...env }, encoding: 'utf8', maxBuffer: 1 << 28 });
  const seconds = (performance.now() - t0) / 1000;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}): ${r.stderr}`);
  return { seconds, stdout: r.stdout, stderr: r.stderr };
}

function lomoScan(db: string, dir: string): { seconds: number; rssMB: number; summary: { filesHashed: number; bytesHashed: number; unchangedFiles: number } } {
  const r = time(process.execPath, [cli, '--db', db, 'scan', dir, '--json'], { LOMO_REPORT_RSS: '1' });
  const rss = Number(/maxrss_kb=(\d+)/.exec(r.stderr)?.[1] ?? 0) / 1024;
  return { seconds: r.seconds, rssMB: rss, summary: JSON.parse(r.stdout) };
}

function rmDb(db: string) {
  for (const s of ['', '-wal', '-shm']) fs.rmSync(db + s, { force: true });
}

const tree = path.join(benchDir, 'photo-tree');
const { files, bytes } = ensurePhotoTree(tree);
warmPageCache(tree);

const openssl: number[] = [];
const sha256sum: number[] = [];
const lomo: number[] = [];
let peakRss = 0;
const db = path.join(benchDir, 'bench.db');
for (let i = 0; i < runs; i++) {
  openssl.push(time('bash', ['-c', `find '${tree}' -type f -print0 | xargs -0 -P${cores} -n 16 openssl dgst -sha256 > /dev/null`]).seconds);
  rmDb(db);
  const r = lomoScan(db, tree);
  if (r.summary.filesHashed !== files) throw new Error(`scan hashed ${r.summary.filesHashed} files, expected ${files}`);
  lomo.push(r.seconds);
  peakRss = Math.max(peakRss, r.rssMB);
  sha256sum.push(time('bash', ['-c', `find '${tree}' -type f -print0 | xargs -0 sha256sum > /dev/null`]).seconds);
}
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
    target: '>= 0.8x openssl parallel',
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
