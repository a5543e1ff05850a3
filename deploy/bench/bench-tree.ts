import { spawnSync } from 'node:child_process';
import { createCipheriv } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

/**
 * Deterministic photo-like trees for benchmarks and tests: file contents are AES-CTR keystream
 * (incompressible, like JPEG/H.264 data) seeded by the file's index, so every run and every
 * machine gets the same bytes. A marker file beside the tree remembers the parameters so a tree is reused.
 */
export interface TreeSpec {
  /** Groups of files: count x size bytes. */
  groups: { count: number; size: number }[];
  /** Files per folder. */
  perDir: number;
  seed: string;
}

export function ensureTree(dir: string, spec: TreeSpec): { files: number; bytes: number } {
  const marker = `${dir.replace(/\/+$/, '')}.tree.json`;
  const want = JSON.stringify(spec);
  const files = spec.groups.reduce((n, g) => n + g.count, 0);
  const bytes = spec.groups.reduce((n, g) => n + g.count * g.size, 0);
  if (fs.existsSync(marker) && fs.readFileSync(marker, 'utf8') === want) return { files, bytes };
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  let i = 0;
  for (const g of spec.groups) {
    for (let k = 0; k < g.count; k++, i++) {
      const sub = path.join(dir, `album-${String(Math.floor(i / spec.perDir)).padStart(4, '0')}`);
      if (i % spec.perDir === 0) fs.mkdirSync(sub, { recursive: true });
      const ext = g.size >= 10_000_000 ? 'mp4' : 'jpg';
      fs.writeFileSync(path.join(sub, `IMG_${String(i).padStart(6, '0')}.${ext}`), pseudoRandom(`${spec.seed}/${i}`, g.size));
    }
  }
  // The marker sits beside the tree, not in it, so scans of the tree never see it.
  fs.writeFileSync(marker, want);
  return { files, bytes };
}

export function pseudoRandom(seed: string, size: number): Buffer {
  const key = Buffer.alloc(32);
  Buffer.from(seed).copy(key, 0, 0, 32);
  const iv = Buffer.alloc(16);
  iv.writeUInt32BE(seed.length, 12);
  const c = createCipheriv('aes-256-ctr', key, iv);
  return c.update(Buffer.alloc(size));
}

/**
 * The benchmarks' photo-like tree (issue 2): BENCH_PHOTOS x 2 MB (default 500) plus BENCH_VIDEOS x
 * 30 MB (default 12), 50 files a folder. Every benchmark uses this one spec, so their figures are
 * over the same bytes.
 */
export function ensurePhotoTree(dir: string): { files: number; bytes: number } {
  return ensureTree(dir, {
    groups: [
      { count: Number(process.env.BENCH_PHOTOS ?? 500), size: 2_000_000 },
      { count: Number(process.env.BENCH_VIDEOS ?? 12), size: 30_000_000 },
    ],
    perDir: 50,
    seed: 'lomo-bench-photos',
  });
}

/** Reads every file of a tree once, so that all compared runs start from a warm page cache. */
export function warmPageCache(dir: string): void {
  spawnSync('bash', ['-c', 'find "$1" -type f -print0 | xargs -0 cat > /dev/null', 'bash', dir]);
}

/** CPU seconds the whole machine has spent busy since boot (/proc/stat: user, nice, system, irq, softirq, steal). */
export function machineBusySeconds(): number {
  const f = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const hz = 100; // USER_HZ
  return (f[0]! + f[1]! + f[2]! + f[5]! + f[6]! + f[7]!) / hz;
}

/**
 * Brings the machine to the same state before every timed run: an untimed `sync` (no run pays for
 * the writeback of the one before it), then a pause of BENCH_SETTLE_MS (default 1000): this VM hands
 * freed memory back to the host within ~0.1-3 s (free page reporting), and a page touched again
 * after that costs a host page fault, so a run must not race the reporter (docs/iso-format.md).
 */
export function settle(): void {
  spawnSync('sync');
  const ms = Number(process.env.BENCH_SETTLE_MS ?? 1000);
  if (ms > 0) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

export interface TimedRun {
  seconds: number;
  /** user + sys of the command and its children. */
  cpuSeconds: number;
  /** What the rest of the machine used meanwhile (other processes, writeback threads): a run with a large figure had less than 2 cores. */
  otherCpuSeconds: number;
  /** Peak RSS of exactly that process. */
  rssMB: number;
  stdout: string;
  stderr: string;
}

/** Runs a command under /usr/bin/time and times it (wall, CPU, the machine's other CPU, peak RSS). */
export function timedRun(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): TimedRun {
  const busy0 = machineBusySeconds();
  const t0 = performance.now();
  const r = spawnSync('/usr/bin/time', ['-f', 'maxrss_kb=%M cpu=%U+%S', cmd, ...args], { encoding: 'utf8', maxBuffer: 1 << 28, env });
  const seconds = (performance.now() - t0) / 1000;
  const busy = machineBusySeconds() - busy0;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}): ${r.stderr}`);
  const kb = Number(/maxrss_kb=(\d+)/.exec(r.stderr)?.[1] ?? NaN);
  const cpu = /cpu=([\d.]+)\+([\d.]+)/.exec(r.stderr);
  const cpuSeconds = cpu ? +(Number(cpu[1]) + Number(cpu[2])).toFixed(2) : NaN;
  return { seconds, cpuSeconds, otherCpuSeconds: +Math.max(0, busy - cpuSeconds).toFixed(2), rssMB: kb / 1024, stdout: r.stdout, stderr: r.stderr };
}

/**
 * This process's own peak RSS in MB. On Linux from /proc (VmHWM, reset by exec): getrusage's
 * maxRSS survives exec, so a child forked from a large benchmark process reports at least the
 * parent's RSS at the fork (a sitelog-bench node showed 239 MB that way, 190 MB on its own).
 */
export function ownPeakRssMB(): number {
  try {
    const m = /^VmHWM:\s+(\d+) kB/m.exec(fs.readFileSync('/proc/self/status', 'utf8'));
    if (m) return Math.round(Number(m[1]) / 1024);
  } catch {
    // not Linux
  }
  return Math.round(process.resourceUsage().maxRSS / 1024);
}
