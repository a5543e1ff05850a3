/**
 * ISO benchmark (issue 3). Prints JSON comparing, over the same photo-like tree (default 500 x 2 MB
 * + 12 x 30 MB, deterministic bytes) with a warm page cache, runs alternated, medians:
 *  - `writer`: our writer into a file through the same sink loop `iso create` uses (ring of
 *    buffers, SHA-256 of the image), in a child process, without the final fsync (genisoimage
 *    does not fsync either);
 *  - `genisoimage -R -J -o`;
 *  - `isoCreateCli`: the real `lomo-peer iso create --no-encrypt --partial` on a scanned catalog (adds the
 *    pack-time stat checks, fsync and catalog registration);
 * and peak RSS (children's maxRSS) for a 1 GB volume (`iso create -s 1G`) and a 5 GB volume (the
 * writer over the tree repeated 4 times). Options (env): BENCH_DIR (.bench), BENCH_RUNS (3),
 * BENCH_PHOTOS (500), BENCH_VIDEOS (12), BENCH_SKIP_5G=1.
 * Child mode (used by the benchmark itself): iso-bench.js --child <entries.json> <out.iso>.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import fsp from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { ensureTree } from './bench-tree.js';
import { buildVolume, type VolumeEntry } from '../../storage/iso/writer.js';
import { pumpToFile } from '../../storage/iso/pump.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const self = fileURLToPath(import.meta.url);
const cli = path.resolve(here, '../../../bin/lomo-peer.js');

async function child(entriesFile: string, out: string): Promise<void> {
  const entries = JSON.parse(fs.readFileSync(entriesFile, 'utf8')) as VolumeEntry[];
  const vol = buildVolume(entries, { volumeId: 'BENCH' });
  const hash = createHash('sha256');
  const fh = await fsp.open(out, 'w');
  const bytes = await pumpToFile(vol.cursor, fh, { onChunk: (c) => void hash.update(c) });
  await fh.close();
  const sha256 = hash.digest('hex');
  process.stdout.write(JSON.stringify({ bytes, sha256, maxRssKB: process.resourceUsage().maxRSS }) + '\n');
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const MB = 1e6;

/** Runs a command under /usr/bin/time (peak RSS of exactly that process) and times it. */
function timed(cmd: string, args: string[]): { seconds: number; rssMB: number; stdout: string; stderr: string } {
  const t0 = performance.now();
  const r = spawnSync('/usr/bin/time', ['-f', 'maxrss_kb=%M', cmd, ...args], { encoding: 'utf8', maxBuffer: 1 << 28 });
  const seconds = (performance.now() - t0) / 1000;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}): ${r.stderr}`);
  const kb = Number(/maxrss_kb=(\d+)/.exec(r.stderr)?.[1] ?? NaN);
  return { seconds, rssMB: kb / 1024, stdout: r.stdout, stderr: r.stderr };
}

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
  const tree = path.join(benchDir, 'iso-photo-tree');
  const work = path.join(benchDir, 'iso-work');
  fs.rmSync(work, { recursive: true, force: true });
  fs.mkdirSync(work, { recursive: true });
  const { files, bytes } = ensureTree(tree, {
    groups: [
      { count: Number(process.env.BENCH_PHOTOS ?? 500), size: 2_000_000 },
      { count: Number(process.env.BENCH_VIDEOS ?? 12), size: 30_000_000 },
    ],
    perDir: 50,
    seed: 'lomo-bench-photos',
  });
  spawnSync('bash', ['-c', `find '${tree}' -type f -print0 | xargs -0 cat > /dev/null`]); // warm the page cache

  const entriesFile = path.join(work, 'entries.json');
  fs.writeFileSync(entriesFile, JSON.stringify(entriesOf(tree, 1)));
  // A scanned catalog for the real CLI; each run starts from a fresh copy of it.
  const db0 = path.join(work, 'scanned.db');
  const scan = spawnSync(process.execPath, [cli, '--db', db0, 'scan', tree], { encoding: 'utf8' });
  if (scan.status !== 0) throw new Error(`scan failed: ${scan.stderr}`);

  const out = path.join(work, 'out.iso');
  const r = { writer: [] as number[], genisoimage: [] as number[], cli: [] as number[] };
  const rss = { writer: 0, genisoimage: 0, cli: 0 };
  let imageBytes = 0;
  let gBytes = 0;
  for (let i = 0; i < runs; i++) {
    fs.rmSync(out, { force: true });
    const w = timed(process.execPath, [self, '--child', entriesFile, out]);
    r.writer.push(w.seconds);
    rss.writer = Math.max(rss.writer, w.rssMB);
    imageBytes = JSON.parse(w.stdout).bytes;
    fs.rmSync(out, { force: true });

    const g = timed('genisoimage', ['-quiet', '-R', '-J', '-o', out, tree]);
    r.genisoimage.push(g.seconds);
    rss.genisoimage = Math.max(rss.genisoimage, g.rssMB);
    gBytes = fs.statSync(out).size;
    fs.rmSync(out, { force: true });

    const db = path.join(work, `run${i}.db`);
    fs.copyFileSync(db0, db);
    const store = path.join(work, `store${i}`);
    fs.mkdirSync(store);
    const c = timed(process.execPath, [cli, '--db', db, 'iso', 'create', '--no-encrypt', '--partial', '-p', store]);
    r.cli.push(c.seconds);
    rss.cli = Math.max(rss.cli, c.rssMB);
    fs.rmSync(store, { recursive: true, force: true });
    for (const s of ['', '-wal', '-shm']) fs.rmSync(db + s, { force: true });
  }

  // Peak RSS for a 1 GB volume (real CLI) and a 5 GB volume (writer, tree repeated 4 times).
  const db1 = path.join(work, 'one-gb.db');
  fs.copyFileSync(db0, db1);
  const store1 = path.join(work, 'store-1g');
  fs.mkdirSync(store1);
  const one = timed(process.execPath, [cli, '--db', db1, 'iso', 'create', '--no-encrypt', '-s', '1G', '-p', store1, '--json']);
  const oneVol = JSON.parse(one.stdout).volumes[0] as { size: number } | undefined;
  fs.rmSync(store1, { recursive: true, force: true });
  let five: { seconds: number; rssMB: number; bytes: number } | null = null;
  if (process.env.BENCH_SKIP_5G !== '1') {
    const f5 = path.join(work, 'entries5.json');
    fs.writeFileSync(f5, JSON.stringify(entriesOf(tree, 4, 5e9)));
    const w = timed(process.execPath, [self, '--child', f5, out]);
    five = { seconds: w.seconds, rssMB: w.rssMB, bytes: JSON.parse(w.stdout).bytes };
    fs.rmSync(out, { force: true });
  }
  fs.rmSync(work, { recursive: true, force: true });

  const rate = (b: number, xs: number[]) => b / median(xs) / MB;
  const writerMBps = rate(imageBytes, r.writer);
  const gMBps = rate(gBytes, r.genisoimage);
  const cliMBps = rate(imageBytes, r.cli);
  const result = {
    tree: { files, bytes },
    runs,
    writer: { medianSeconds: median(r.writer), MBps: Math.round(writerMBps), imageBytes, peakRssMB: Math.round(rss.writer), seconds: r.writer },
    genisoimage: { medianSeconds: median(r.genisoimage), MBps: Math.round(gMBps), imageBytes: gBytes, peakRssMB: Math.round(rss.genisoimage), seconds: r.genisoimage },
    isoCreateCli: { medianSeconds: median(r.cli), MBps: Math.round(cliMBps), peakRssMB: Math.round(rss.cli), seconds: r.cli },
    ratio: { writerVsGenisoimage: +(writerMBps / gMBps).toFixed(2), isoCreateVsGenisoimage: +(cliMBps / gMBps).toFixed(2) },
    peakRss: {
      volume1GB: { via: 'lomo-peer iso create -s 1G', imageBytes: oneVol?.size ?? null, MB: Math.round(one.rssMB) },
      volume5GB: five && { via: 'writer, tree x4', imageBytes: five.bytes, MB: Math.round(five.rssMB), MBps: Math.round(five.bytes / five.seconds / MB) },
    },
    targets: { ratio: 0.7, peakRssMB: 150 },
  };
  process.stdout.write(JSON.stringify(result, null, 2) + '\n');
}

if (process.argv[2] === '--child') await child(process.argv[3]!, process.argv[4]!);
else await main();
