/**
 * The site process of replication-bench.ts: one lomo-peer node (LomoNode) in a network
 * namespace, driven line by line over stdin/stdout by the benchmark (connect, put, get, stats,
 * stop). Chunks are generated, not read from a catalog: a unique prefix per chunk, then one random
 * block, streamed from a file as FileTier.get reads the object tier, or whole from memory as
 * fetchChunk holds it. Run as: node replication-site.js '<SiteConfig JSON>'.
 */
import { createHash, randomFillSync, type Hash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import v8 from 'node:v8';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { chunkCipherSize, DEFAULT_CHUNK_PLAIN, DEFAULT_MESSAGE_SIZE } from '../../storage/objects/format.js';
import { GET_READ_BYTES } from '../../storage/tiers/file.js';
import { releaseNow } from '../../node/heap.js';


export const MB = 1024 * 1024;
export const env = (k: string, d: number) => Number(process.env[k] ?? d);
export const CHUNK = chunkCipherSize(DEFAULT_CHUNK_PLAIN, DEFAULT_MESSAGE_SIZE);
export const round = (x: number, d = 1) => Math.round(x * 10 ** d) / 10 ** d;

export interface SiteConfig {
  dir: string;
  listen: string;
  control: boolean;
}

/** Counters of every interface but lo in this process's namespace (/proc/net/dev is per namespace). */
function netBytes(): { rx: number; tx: number } {
  let rx = 0;
  let tx = 0;
  for (const line of fs.readFileSync('/proc/self/net/dev', 'utf8').split('\n').slice(2)) {
    const m = /^\s*([^:]+):\s*(.*)$/.exec(line);
    if (!m || m[1] === 'lo') continue;
    const f = m[2]!.trim().split(/\s+/).map(Number);
    rx += f[0]!;
    tx += f[8]!;
  }
  return { rx, tx };
}

const SUFFIX_BYTES = 32;

/** The unique prefix of chunk `i` of stream `seed` (the rest of every chunk is one random block). */
const prefixOf = (seed: string, i: number) => Buffer.from(`${seed}:${i}:`, 'latin1');

/** CPU ms per thread name (main thread "node", libuv pool "libuv-worker", V8 "V8 Worker"...). */
function threadCpuMs(): Record<string, number> {
  const out: Record<string, number> = {};
  const tick = 1000 / 100; // USER_HZ
  for (const t of fs.readdirSync('/proc/self/task')) {
    try {
      const stat = fs.readFileSync(`/proc/self/task/${t}/stat`, 'utf8');
      const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out[name] = (out[name] ?? 0) + (Number(f[11]) + Number(f[12])) * tick;
    } catch {
      // the thread ended
    }
  }
  return out;
}

/** Chunk `i` whole in memory, as fetchChunk returns it: a fresh buffer, hashed. */
function chunkInMemory(base: Buffer, seed: string, i: number): { bytes: Buffer; sha: string } {
  const bytes = Buffer.allocUnsafe(base.length);
  base.copy(bytes);
  prefixOf(seed, i).copy(bytes);
  return { bytes, sha: createHash('sha256').update(bytes).digest('hex') };
}

/**
 * Chunk `i` streamed from a file, as a replicator would stream it from the local object tier
 * (FileTier.get: a read stream of GET_READ_BYTES pieces) with the SHA-256 the catalog logged: the file's
 * bytes, then the chunk's unique suffix. The hash is the file's SHA-256 state (`head`, computed
 * once) finished with the suffix, so the sender's CPU time is the transfer's, not the benchmark's.
 */
function chunkFromFile(head: Hash, file: string, seed: string, i: number): { open: () => AsyncIterable<Uint8Array>; sha: string } {
  const suffix = Buffer.alloc(SUFFIX_BYTES);
  suffix.write(`${seed}:${i}:`, 'latin1');
  const sha = head.copy().update(suffix).digest('hex');
  async function* open(): AsyncGenerator<Uint8Array> {
    for await (const piece of fs.createReadStream(file, { highWaterMark: process.env.BENCH_READ_KB ? Number(process.env.BENCH_READ_KB) * 1024 : GET_READ_BYTES })) {
      yield piece as Buffer;
      releaseNow(piece as Buffer); // as the replicator's tier source does
    }
    yield suffix;
  }
  return { open, sha };
}

export async function site(cfg: SiteConfig): Promise<void> {
  const { setLogLevel } = await import('../../node/log.js');
  const { LomoNode } = await import('../../node/host/lomo-node.js');
  const { ChunkRefused } = await import('../../protocol/chunk/index.js');
  setLogLevel(3);
  // Site processes stand for `lomo-peer node`, which tunes V8's heap at start.
  if (!process.env.BENCH_NO_HEAP_FLAG) (await import('../../node/heap.js')).tuneHeap();
  const node = await LomoNode.start({ dbFile: path.join(cfg.dir, 'lomob.db'), dataDir: cfg.dir, listen: [cfg.listen], maintenanceMs: 5_000 });
  let control: { close(): Promise<void> } | null = null;
  if (cfg.control) {
    const { startControlServer } = await import('../../node/host/control.js');
    const { controlHandler } = await import('../../node/host/control-api.js');
    control = await startControlServer(cfg.dir, controlHandler(node));
  }
  const sayTo = process.env.BENCH_TRACE ? fs.createWriteStream('', { fd: 3 }) : process.stdout;
  const say = (o: unknown) => sayTo.write(JSON.stringify(o) + '\n');
  // Main-thread GC pauses by kind (perf_hooks constants.NODE_PERFORMANCE_GC_*), for `stats`.
  const GC_KINDS: Record<number, string> = { 1: 'minor', 4: 'major', 8: 'incremental', 16: 'weakcb' };
  const gcs: Record<string, { count: number; ms: number }> = {};
  const { PerformanceObserver } = await import('node:perf_hooks');
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      const kind = (e as unknown as { detail?: { kind?: number } }).detail?.kind ?? 0;
      const k = GC_KINDS[kind] ?? String(kind);
      const g = (gcs[k] ??= { count: 0, ms: 0 });
      g.count++;
      g.ms += e.duration;
    }
  }).observe({ entryTypes: ['gc'] });
  // The process's memory when its RSS was highest (sampled every 100 ms), for `stats`.
  let lifePeak = process.memoryUsage();
  setInterval(() => {
    const m = process.memoryUsage();
    if (m.rss > lifePeak.rss) lifePeak = m;
  }, 100).unref();
  say({ event: 'ready', peerId: node.peerId });

  /**
   * Puts `chunks` chunks to every peer. `lockstep`: `parallel` chunks in flight, each to all peers
   * at once. `per-holder` (as node/host/replicator.ts places a volume): each peer gets its own
   * `parallel` chunks in flight (CHUNKS_AT_ONCE) and goes through the chunks at its own pace.
   */
  async function put(peers: string[], chunks: number, parallel: number, seed: string, source: 'memory' | 'file', shape: 'lockstep' | 'per-holder' = 'lockstep') {
    // The file source keeps no chunk in memory (as the replicator, which streams from the tier):
    // the random block is on disk and hashed before the transfer starts, then dropped.
    let block: Buffer | null = randomFillSync(Buffer.allocUnsafe(CHUNK));
    const file = path.join(cfg.dir, 'bench-chunk.bin');
    if (source === 'file') fs.writeFileSync(file, block.subarray(0, CHUNK - SUFFIX_BYTES));
    const head = createHash('sha256').update(block.subarray(0, CHUNK - SUFFIX_BYTES));
    const base = source === 'memory' ? block : Buffer.alloc(0);
    block = null;
    let acked = 0;
    let stored = 0;
    let busyRetries = 0;
    let atPeak = process.memoryUsage();
    let tick = 0;
    const sampler = setInterval(() => {
      const m = process.memoryUsage();
      if (m.rss > atPeak.rss) atPeak = m;
      if (process.env.BENCH_MEM_LOG && tick++ % 10 === 0) {
        const spaces = Object.fromEntries(v8.getHeapSpaceStatistics().filter((x) => x.space_size > MB).map((x) => [x.space_name, round(x.space_size / MB)]));
        fs.appendFileSync(process.env.BENCH_MEM_LOG, JSON.stringify({ t: round(performance.now() / 1000), ...Object.fromEntries(Object.entries(m).map(([k, v]) => [k, round(v / MB)])), spaces }) + '\n');
      }
    }, 100);
    const shas: string[] = [];
    const chunkAt = (i: number) => {
      const c = source === 'memory' ? chunkInMemory(base, seed, i) : chunkFromFile(head, file, seed, i);
      if (i < 8) shas[i] = c.sha;
      return c;
    };
    const putTo = async (p: string, c: ReturnType<typeof chunkAt>) => {
      for (;;) {
        try {
          const r = await node.chunks.put(p, node.peerId, c.sha, CHUNK, 'bytes' in c ? c.bytes : c.open());
          acked += CHUNK;
          if (r.stored) stored++;
          return;
        } catch (err) {
          if (!(err instanceof ChunkRefused && err.reason === 'busy')) throw err;
          busyRetries++;
          await new Promise((r) => setTimeout(r, 200));
        }
      }
    };
    /** `parallel` lanes over the chunks, each chunk sent to `to`. */
    const lanes = (to: string[]) => {
      let next = 0;
      const lane = async () => {
        for (let i = next++; i < chunks; i = next++) {
          const c = chunkAt(i);
          await Promise.all(to.map((p) => putTo(p, c)));
          // As the replicator does with a chunk copied from another holder.
          if ('bytes' in c) releaseNow(c.bytes);
        }
      };
      return Array.from({ length: parallel }, lane);
    };
    const t0 = performance.now();
    try {
      await Promise.all(shape === 'lockstep' ? lanes(peers) : peers.flatMap((p) => lanes([p])));
    } finally {
      clearInterval(sampler);
      fs.rmSync(file, { force: true });
    }
    const seconds = (performance.now() - t0) / 1000;
    return { source, shape, chunks, chunkBytes: CHUNK, peers: peers.length, parallel, ackedBytes: acked, stored, busyRetries, seconds, bitsPerSecond: (acked * 8) / seconds, rssPeakBytes: atPeak.rss, atPeak, maxRssBytes: process.resourceUsage().maxRSS * 1024, shas };
  }

  /** Gets each item from `peer` one after the other; payload and interface bytes moved. */
  async function get(peer: string, items: { sha: string; offset?: number; length?: number }[]) {
    const before = netBytes();
    const t0 = performance.now();
    let payload = 0;
    for (const it of items) {
      const b = await node.chunks.get(peer, node.peerId, it.sha, it.offset === undefined ? undefined : { offset: it.offset, length: it.length! });
      payload += b.length;
    }
    const seconds = (performance.now() - t0) / 1000;
    const after = netBytes();
    return { payloadBytes: payload, rxBytes: after.rx - before.rx, txBytes: after.tx - before.tx, seconds };
  }

  const rl = readline.createInterface({ input: process.stdin });
  for await (const line of rl) {
    const cmd = JSON.parse(line) as Record<string, any>;
    try {
      if (cmd.op === 'connect') {
        const { multiaddr } = await import('@multiformats/multiaddr');
        for (const p of cmd.peers as { peerId: string; addrs: string[] }[]) await node.dialPeer(p.peerId, p.addrs.map((a) => multiaddr(a)));
        say({ ok: true });
      } else if (cmd.op === 'put') say({ ok: true, ...(await put(cmd.peers, cmd.chunks, cmd.parallel, cmd.seed, cmd.source, cmd.shape)) });
      else if (cmd.op === 'get') say({ ok: true, ...(await get(cmd.peer, cmd.items)) });
      else if (cmd.op === 'stats') say({ ok: true, cpuMicros: ((u) => u.user + u.system)(process.cpuUsage()), threads: threadCpuMs(), rssBytes: process.memoryUsage.rss(), memory: process.memoryUsage(), maxRssBytes: process.resourceUsage().maxRSS * 1024, hostedBytes: node.hosted.owners().reduce((a, o) => a + o.usedBytes, 0), gc: structuredClone(gcs), atPeak: lifePeak });
      else if (cmd.op === 'stop') break;
    } catch (err) {
      say({ ok: false, error: (err as Error).stack ?? String(err) });
    }
  }
  await control?.close();
  await node.stop();
  say({ ok: true, stopped: true });
  process.exit(0);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  site(JSON.parse(process.argv[2]!) as SiteConfig).catch((err) => {
    process.stdout.write(JSON.stringify({ ok: false, error: err.stack ?? String(err) }) + '\n');
    process.exit(1);
  });
}
