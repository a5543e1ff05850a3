/**
 * Replication benchmark (issue 15, Acceptance). Sites are real LomoNodes, each in its own process
 * inside a network namespace (deploy/netns/topology.sh): a sender in <p>x, two holders in <p>y.
 * The sender drives `/lomo/chunk/1.0.0` through the library (LomoNode.chunks.put / get); every
 * chunk is sent once to each holder, the way a volume is replicated to R = 2 households: by
 * default as node/host/replicator.ts does it (BENCH_SHAPE=per-holder: CHUNKS_AT_ONCE chunks in
 * flight to each holder, the holders independent), or each chunk to both holders at once
 * (BENCH_SHAPE=lockstep, BENCH_PARALLEL chunks in flight). Every site process tunes V8's heap at
 * start (node/heap.ts tuneHeap) as `lomo-peer node` does (BENCH_NO_HEAP_FLAG=1: only at its first transfer). Chunks
 * are 8 MiB of plaintext as sealed (8,388,808 bytes of ciphertext, the object format's default),
 * random and unique per chunk: by default streamed from one 8 MiB file (reads of
 * FileTier.get's size) plus a unique suffix, with the hash known in advance as the catalog logs it, so
 * no volume is kept on disk; or (BENCH_SOURCE=memory) whole in memory and hashed, as fetchChunk
 * returns them. The holders write, hash and fsync everything they receive.
 *
 *   (a) shaped link (50 Mbit/s, 40 ms RTT; tc netem or deploy/netns/wire.py): BENCH_MB of chunks
 *       to both holders; goodput (acknowledged chunk bytes over both holders / time) vs iperf3 on
 *       the same link, measured before and after in the same run. Target >= 0.9x.
 *   (b) unshaped veth link: the same vs `lomo-peer peers speedtest` (the CLI, through the sender's
 *       control socket) in the same run. Target >= 0.8x.
 *   (c) single-file restore from a holder, on the veth link: bytes moved (payload, and bytes that
 *       crossed the sender's interface) for a small and a medium file inside a volume, (1) as whole
 *       chunks (what a verifying reader fetches: the chunk hash is checked before decrypting) and
 *       (2) as byte-range gets of the chunk prefixes that decryption needs (secretstream messages
 *       chain from a chunk's start). Restore from peers is measured at the ChunkService level.
 *   (d) peak RSS of a fresh sender process while it replicates a BENCH_VOLUME_MB volume to both
 *       holders on the veth link (sampled every 100 ms, and the kernel's maxRSS). Target <= 200 MB.
 *
 * Prints JSON. Needs root. Options (env): BENCH_MB (1024), BENCH_VOLUME_MB (5120), BENCH_SHAPE
 * (per-holder), BENCH_PARALLEL (chunks in flight per holder: CHUNKS_AT_ONCE; lockstep: 4), BENCH_IPERF_SECONDS (10), BENCH_SPEEDTEST_SECONDS
 * (5), BENCH_PARTS (abcd: which parts to run), BENCH_SOURCE (file: chunks streamed from a file, as
 * from FileTier.get; memory: whole chunks in memory, as fetchChunk), BENCH_D_SOURCES (file,memory:
 * the sources (d) runs, one fresh sender each), BENCH_READ_KB (read size of the file source: FileTier.get's, GET_READ_BYTES),
 * BENCH_RUNS (3: rounds of (b)), BENCH_NODE_FLAGS (V8 flags of the site processes, e.g.
 * --max-semi-space-size=2), BENCH_NO_HEAP_FLAG, BENCH_CPU_PROF (a folder: site processes write
 * --cpu-prof profiles there), BENCH_TRACE (site processes answer on fd 3 and their stdout goes to
 * /tmp/trace-<site>.log: for V8's --trace-gc in BENCH_NODE_FLAGS, which writes to stdout).
 * Run after `npx tsc -p tsconfig.json`: node dist/deploy/bench/replication-bench.js
 */
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { openCatalog } from '../../storage/catalog/db.js';
import { savePairedPeer } from '../../storage/trust/peers.js';
import { chunksFor, DEFAULT_CHUNK_PLAIN, DEFAULT_MESSAGE_SIZE, HEADER_BYTES } from '../../storage/objects/format.js';
import { SS_ABYTES } from '../../storage/crypto/sodium.js';
import { CHUNKS_AT_ONCE } from '../../node/host/replicator.js';
import { GET_READ_BYTES } from '../../storage/tiers/file.js';
import { iperf3Goodput, inNs, type Link } from './netns-link.js';
import { CHUNK, env, MB, round, type SiteConfig } from './replication-site.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../../..');
const siteScript = path.join(here, 'replication-site.js');
const cli = path.join(root, 'bin/lomo-peer.js');
const topo = path.join(root, 'deploy/netns/topology.sh');
/** V8 flags for the site processes (e.g. --max-semi-space-size=2), to compare with the default. */
const nodeFlags = [
  ...(process.env.BENCH_NODE_FLAGS ?? '').split(' ').filter(Boolean),
  ...(process.env.BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`] : []),
];

// ==================================================================== the benchmark (root namespace)

/** A site process and a line-per-reply conversation with it. */
class Site {
  private pending: ((v: Record<string, any>) => void)[] = [];
  private err = '';
  readonly db: string;
  peerId = '';

  private constructor(
    readonly proc: ChildProcess,
    readonly dir: string,
    readonly addr: string,
  ) {
    this.db = path.join(dir, 'lomob.db');
    proc.stderr!.on('data', (d) => (this.err = (this.err + d).slice(-8000)));
    readline.createInterface({ input: (process.env.BENCH_TRACE ? proc.stdio[3] : proc.stdout) as NodeJS.ReadableStream }).on('line', (l) => {
      let msg: Record<string, any>;
      try {
        msg = JSON.parse(l);
      } catch {
        return;
      }
      this.pending.shift()?.(msg);
    });
    proc.on('close', (code) => {
      for (const p of this.pending.splice(0)) p({ ok: false, error: `site exited (${code}): ${this.err}` });
    });
  }

  static async start(ns: string, dir: string, ip: string, port: number, control = false): Promise<Site> {
    const cfg: SiteConfig = { dir, listen: `/ip4/${ip}/tcp/${port}`, control };
    const proc = spawn('ip', ['netns', 'exec', ns, process.execPath, ...nodeFlags, siteScript, JSON.stringify(cfg)], { stdio: ['pipe', process.env.BENCH_TRACE ? fs.openSync(`/tmp/trace-${path.basename(dir)}.log`, 'w') : 'pipe', 'pipe', 'pipe'] });
    const s = new Site(proc, dir, cfg.listen);
    const ready = await s.reply();
    if (ready.event !== 'ready') throw new Error(`site ${dir} did not start: ${ready.error ?? JSON.stringify(ready)}`);
    s.peerId = ready.peerId;
    return s;
  }

  private reply(): Promise<Record<string, any>> {
    return new Promise((resolve) => this.pending.push(resolve));
  }

  async ask(cmd: Record<string, unknown>): Promise<Record<string, any>> {
    const r = this.reply();
    this.proc.stdin!.write(JSON.stringify(cmd) + '\n');
    const out = await r;
    if (!out.ok) throw new Error(`${cmd.op} failed: ${out.error}\n--- site log:\n${this.log()}`);
    return out;
  }

  log(): string {
    return this.err.split('\n').slice(-20).join('\n');
  }

  async stop(): Promise<void> {
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return;
    const closed = new Promise((r) => this.proc.once('close', r));
    this.proc.stdin!.write(JSON.stringify({ op: 'stop' }) + '\n');
    const t = setTimeout(() => this.proc.kill('SIGKILL'), 15_000);
    await closed;
    clearTimeout(t);
  }
}


/** Identities and catalogs of a sender and its holders, each trusting the other (no pairing run). */
async function family(work: string, label: string, l: Link): Promise<{ sender: string; holders: { dir: string; port: number }[] }> {
  const { loadOrCreateIdentity } = await import('../../node/identity.js');
  const mk = async (name: string, ip: string, port: number) => {
    const dir = path.join(work, `${label}-${name}`);
    const id = await loadOrCreateIdentity(dir);
    return { dir, name, peerId: id.siteId, addrs: [`/ip4/${ip}/tcp/${port}`], port };
  };
  const s = await mk('sender', l.xIp, 4710);
  const hs = [await mk('holder1', l.yIp, 4711), await mk('holder2', l.yIp, 4712)];
  const pair = (dir: string, other: { peerId: string; name: string; addrs: string[] }) => {
    const db = openCatalog(path.join(dir, 'lomob.db'));
    try {
      savePairedPeer(db, { peerId: other.peerId, name: other.name, siteName: other.name, addrs: other.addrs, quotaOffered: null, quotaGranted: null, introducedBy: null });
    } finally {
      db.close();
    }
  };
  for (const h of hs) {
    pair(s.dir, h);
    pair(h.dir, s);
  }
  return { sender: s.dir, holders: hs.map((h) => ({ dir: h.dir, port: h.port })) };
}

async function startFamily(work: string, label: string, l: Link) {
  const f = await family(work, label, l);
  const holders = await Promise.all(f.holders.map((h) => Site.start(l.ny, h.dir, l.yIp, h.port)));
  const sender = await Site.start(l.nx, f.sender, l.xIp, 4710, true);
  await sender.ask({ op: 'connect', peers: holders.map((h) => ({ peerId: h.peerId, addrs: [h.addr] })) });
  return { sender, holders, dirs: f };
}


const mbps = (bps: number) => round(bps / 1e6);

function putSummary(r: Record<string, any>) {
  return {
    source: r.source,
    shape: r.shape,
    chunks: r.chunks,
    holders: r.peers,
    parallel: r.parallel,
    ackedMB: round(r.ackedBytes / MB),
    seconds: round(r.seconds, 2),
    goodputMbps: mbps(r.bitsPerSecond),
    busyRetries: r.busyRetries,
    senderRssPeakMB: round(r.rssPeakBytes / MB),
    senderAtPeakMB: Object.fromEntries(Object.entries(r.atPeak as Record<string, number>).map(([k, v]) => [k, round(v / MB)])),
  };
}

/**
 * Where a file of `size` bytes at plaintext `offset` of a volume lies: per chunk, the whole chunk
 * and the prefix of it that decrypting the file's bytes needs (secretstream messages chain).
 */
function fileReads(offset: number, size: number) {
  const { first, last } = chunksFor(offset, size, DEFAULT_CHUNK_PLAIN);
  const out: { index: number; whole: number; prefix: number }[] = [];
  for (let i = first; i <= last; i++) {
    const end = Math.min(offset + size, (i + 1) * DEFAULT_CHUNK_PLAIN) - i * DEFAULT_CHUNK_PLAIN;
    const messages = Math.ceil(end / DEFAULT_MESSAGE_SIZE);
    out.push({ index: i - first, whole: CHUNK, prefix: Math.min(CHUNK, HEADER_BYTES + messages * (DEFAULT_MESSAGE_SIZE + SS_ABYTES)) });
  }
  return out;
}

async function restoreCase(sender: Site, holder: string, shas: string[], name: string, offset: number, size: number) {
  const reads = fileReads(offset, size);
  if (reads.length > shas.length) throw new Error(`a ${size}-byte file needs ${reads.length} chunks, only ${shas.length} known`);
  const whole = await sender.ask({ op: 'get', peer: holder, items: reads.map((r) => ({ sha: shas[r.index] })) });
  const ranged = await sender.ask({ op: 'get', peer: holder, items: reads.map((r) => ({ sha: shas[r.index], offset: 0, length: r.prefix })) });
  const per = (g: Record<string, any>) => ({
    payloadBytes: g.payloadBytes,
    wireBytesIn: g.rxBytes,
    wireBytesOut: g.txBytes,
    payloadPerFileByte: round(g.payloadBytes / size, 3),
    wirePerFileByte: round((g.rxBytes + g.txBytes) / size, 3),
    ms: round(g.seconds * 1000),
  });
  return { file: name, fileBytes: size, offsetInVolume: offset, chunksHoldingIt: reads.length, wholeChunks: per(whole), chunkPrefixRanges: per(ranged) };
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('replication-bench needs root (network namespaces)');
  const parts = process.env.BENCH_PARTS ?? 'abcd';
  const mb = env('BENCH_MB', 1024);
  const volumeMb = env('BENCH_VOLUME_MB', 5120);
  const shape = (process.env.BENCH_SHAPE ?? 'per-holder') as 'lockstep' | 'per-holder';
  const parallel = env('BENCH_PARALLEL', shape === 'per-holder' ? CHUNKS_AT_ONCE : 4);
  const iperfSecs = env('BENCH_IPERF_SECONDS', 10);
  const stSecs = env('BENCH_SPEEDTEST_SECONDS', 5);
  const source = (process.env.BENCH_SOURCE ?? 'file') as 'file' | 'memory';
  const dSources = (process.env.BENCH_D_SOURCES ?? 'file,memory').split(',') as ('file' | 'memory')[];
  const chunksOf = (m: number) => Math.ceil((m * MB) / CHUNK);
  const P = `rb${process.pid % 10000}`;
  const PW = `rw${process.pid % 10000}`;
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'lomo-repl-bench-'));
  const sites: Site[] = [];
  const cleanup = async () => {
    await Promise.all(sites.map((s) => s.stop().catch(() => undefined)));
    for (const prefix of [P, PW]) {
      try {
        execFileSync('bash', [topo, 'down', prefix]);
      } catch {
        // best effort
      }
    }
    fs.rmSync(work, { recursive: true, force: true });
  };
  process.once('SIGINT', () => void cleanup().then(() => process.exit(130)));
  const result: Record<string, unknown> = {
    bench: 'replication',
    what: 'chunk replication (/lomo/chunk/1.0.0, LomoNode.chunks) from a sender to two holders in network namespaces, against same-run baselines',
    cpus: os.cpus().length,
    chunkBytes: CHUNK,
    parallel,
    shape: shape === 'per-holder' ? `per holder, as node/host/replicator.ts: ${parallel} chunks in flight to each holder, holders independent` : `${parallel} chunks in flight, each to both holders at once`,
    nodeFlags: nodeFlags.join(' ') || '(none, as `lomo-peer node` runs)',
    heap: process.env.BENCH_NO_HEAP_FLAG ? 'tuned at the first transfer (BENCH_NO_HEAP_FLAG)' : 'tuned at start (tuneHeap, as `lomo-peer node`)',
    source: source === 'file' ? `chunks streamed from a file (${(Number(process.env.BENCH_READ_KB) || GET_READ_BYTES / 1024)} KiB reads, as FileTier.get), hash as logged` : 'chunks whole in memory (as fetchChunk), hashed',
  };
  const targets: Record<string, boolean> = {};
  try {
    const veth: Link = { nx: `${P}x`, ny: `${P}y`, xIp: '10.77.9.1', yIp: '10.77.9.2', label: 'veth, unshaped' };
    if (parts.includes('a')) {
      let shaped: Link;
      execFileSync('bash', [topo, 'up', P, 'link'], { stdio: 'inherit' });
      let netem = true;
      try {
        for (const ns of [veth.nx, veth.ny]) execFileSync('ip', ['netns', 'exec', ns, 'tc', 'qdisc', 'replace', 'dev', 'eth0', 'root', 'netem', 'delay', '20ms', 'rate', '50mbit', 'limit', '1000'], { stdio: 'ignore' });
      } catch {
        netem = false;
      }
      if (netem) shaped = { ...veth, label: 'veth + tc netem 50 Mbit/s, 40 ms RTT' };
      else {
        execFileSync('bash', [topo, 'down', P]);
        execFileSync('bash', [topo, 'up', PW, 'wire', '50', '20'], { stdio: 'inherit' });
        shaped = { nx: `${PW}x`, ny: `${PW}y`, xIp: '10.77.8.1', yIp: '10.77.8.2', label: 'wire.py 50 Mbit/s, 40 ms RTT (no netem in this kernel)' };
      }
      const f = await startFamily(work, 'a', shaped);
      sites.push(f.sender, ...f.holders);
      const before = iperf3Goodput(shaped, iperfSecs);
      const put = await f.sender.ask({ op: 'put', peers: f.holders.map((h) => h.peerId), chunks: chunksOf(mb), parallel, seed: 'a', source, shape });
      const after = iperf3Goodput(shaped, iperfSecs);
      const iperfMean = (before + after) / 2;
      const ratio = put.bitsPerSecond / iperfMean;
      result.a = { link: shaped.label, mb, iperf3Mbps: { before: mbps(before), after: mbps(after) }, replication: putSummary(put), ratio: round(ratio, 3), target: '>= 0.9' };
      targets.a = ratio >= 0.9;
      for (const s of [f.sender, ...f.holders]) await s.stop();
      sites.length = 0;
      for (const d of [f.dirs.sender, ...f.dirs.holders.map((h) => h.dir)]) fs.rmSync(d, { recursive: true, force: true });
      execFileSync('bash', [topo, 'down', netem ? P : PW]);
    }
    if (/[bcd]/.test(parts)) {
      execFileSync('bash', [topo, 'up', P, 'link'], { stdio: 'inherit' });
      const f = await startFamily(work, 'b', veth);
      sites.push(f.sender, ...f.holders);
      const [h1, h2] = f.holders.map((h) => h.peerId) as [string, string];
      let shas: string[] = [];
      if (parts.includes('b') || parts.includes('c')) {
        // Rounds of (speedtest, put of a share of BENCH_MB), alternating which goes first, each put
        // judged against the speedtest next to it: the machine is shared and its load drifts. CPU
        // time per MB moved (sender, and holders summed) is independent of that load.
        const rounds = parts.includes('b') ? env('BENCH_RUNS', 3) : 1;
        const perRound = parts.includes('b') ? Math.ceil(chunksOf(mb) / rounds) : 8;
        let threads: Record<string, number>[] = [];
        let gcNow: Record<string, { count: number; ms: number }>[] = [];
        /** Main-thread GC of each site since `before`: kind -> [pauses, their ms per MB the site moved]. */
        const gcSince = (before: typeof gcNow, mbEach: number[]) =>
          gcNow.map((g, k) => Object.fromEntries(Object.entries(g).map(([kind, v]) => [kind, [v.count - (before[k]?.[kind]?.count ?? 0), round((v.ms - (before[k]?.[kind]?.ms ?? 0)) / mbEach[k]!, 2)]])));
        const cpuOf = async () => {
          const st = await Promise.all([f.sender, ...f.holders].map((s) => s.ask({ op: 'stats' })));
          threads = st.map((x) => x.threads);
          gcNow = st.map((x) => x.gc);
          return st.map((x) => x.cpuMicros as number);
        };
        /** CPU ms per MB of each thread kind since `before`, for the sender and the first holder. */
        const threadsPerMB = (before: Record<string, number>[], sent: number, perHolder: number) =>
          [0, 1].map((k) =>
            Object.fromEntries(
              Object.entries(threads[k]!)
                .map(([n, v]) => [n, round((v - (before[k]![n] ?? 0)) / ((k === 0 ? sent : perHolder) / MB), 2)])
                .filter(([, v]) => (v as number) > 0.05),
            ),
          );
        const cpuPerMB = (a: number[], b: number[], bytes: number) => ({
          sender: round((b[0]! - a[0]!) / 1000 / (bytes / MB), 2),
          holders: round(b.slice(1).reduce((x, v, i) => x + v - a[i + 1]!, 0) / 1000 / (bytes / MB), 2),
        });
        const rows: Record<string, any>[] = [];
        for (let r = 0; r < rounds; r++) {
          const doSpeedtest = async () => {
            const c0 = await cpuOf();
            const t0 = threads;
            const out = JSON.parse(inNs(veth.nx, process.execPath, [cli, '--db', f.sender.db, '--json', 'peers', 'speedtest', h1, '--seconds', String(stSecs), '--streams', '1']));
            const cpu = cpuPerMB(c0, await cpuOf(), out.bytes);
            return { bps: out.bitsPerSecond as number, cpuMsPerMB: { ...cpu, threadsSenderAndHolder1: threadsPerMB(t0, out.bytes, out.bytes) } };
          };
          const doPut = async () => {
            const c0 = await cpuOf();
            const t0 = threads;
            const g0 = gcNow;
            const put = await f.sender.ask({ op: 'put', peers: [h1, h2], chunks: perRound, parallel, seed: `b${r}`, source, shape });
            const cpu = cpuPerMB(c0, await cpuOf(), put.ackedBytes);
            const mb = put.ackedBytes / MB;
            return { put, cpuMsPerMB: { ...cpu, threadsSenderAndHolder1: threadsPerMB(t0, put.ackedBytes, put.ackedBytes / 2), mainThreadGcSenderHolder1Holder2: gcSince(g0, [mb, mb / 2, mb / 2]) } };
          };
          // The same shape as the replication: one speedtest stream to each holder at once, summed.
          const doSpeedtestBoth = async () => {
            const one = (peer: string) =>
              new Promise<number>((resolve, reject) =>
                execFile('ip', ['netns', 'exec', veth.nx, process.execPath, cli, '--db', f.sender.db, '--json', 'peers', 'speedtest', peer, '--seconds', String(stSecs), '--streams', '1'], { encoding: 'utf8' }, (err, out) =>
                  err ? reject(err) : resolve(JSON.parse(out).bitsPerSecond as number),
                ),
              );
            const [x, y] = await Promise.all([one(h1), one(h2)]);
            return x + y;
          };
          let st, p, both;
          if (r % 2 === 0) {
            st = await doSpeedtest();
            both = await doSpeedtestBoth();
            p = await doPut();
          } else {
            p = await doPut();
            both = await doSpeedtestBoth();
            st = await doSpeedtest();
          }
          if (r === 0) shas = p.put.shas;
          rows.push({
            speedtestMbps: mbps(st.bps),
            speedtestBothHoldersMbps: mbps(both),
            speedtestCpuMsPerMB: st.cpuMsPerMB,
            replication: putSummary(p.put),
            replicationCpuMsPerMB: p.cpuMsPerMB,
            ratio: round(p.put.bitsPerSecond / st.bps, 3),
            ratioBothHolders: round(p.put.bitsPerSecond / both, 3),
          });
        }
        if (parts.includes('b')) {
          const ratio = [...rows.map((x) => x.ratio as number)].sort((a, b) => a - b)[Math.floor(rows.length / 2)]!;
          const ratioBoth = [...rows.map((x) => x.ratioBothHolders as number)].sort((a, b) => a - b)[Math.floor(rows.length / 2)]!;
          result.b = {
            link: veth.label,
            mb,
            rounds: rows,
            ratio,
            target: '>= 0.8 (median over rounds of replication goodput / `peers speedtest` goodput, 1 stream: its default)',
            // Replication sends to both holders at once: the same shape of speedtest, for comparison.
            ratioBothHolders: ratioBoth,
          };
          targets.b = ratio >= 0.8;
        }
      }
      if (parts.includes('c')) {
        // A volume's plaintext: a 256 KiB photo inside chunk 0, a 24 MiB video from 3 MiB on.
        result.c = {
          link: veth.label,
          note: 'measured with ChunkService.get as restore from peers fetches: whole chunks, or the chunk prefix a file needs (byte ranges); wire bytes = the sender interface counters (TCP/IP, Noise, Yamux included)',
          cases: [await restoreCase(f.sender, h1, shas, 'small', 5 * MB + 12345, 256 * 1024), await restoreCase(f.sender, h1, shas, 'medium', 3 * MB, 24 * MB)],
        };
      }
      if (parts.includes('d')) {
        const runs: Record<string, unknown>[] = [];
        let worst = 0;
        for (const [k, src] of dSources.entries()) {
          // A fresh sender process for each: its peak RSS is this replication's alone.
          const old = sites.find((s) => s.dir === f.dirs.sender)!;
          await old.stop();
          sites.splice(sites.indexOf(old), 1);
          const sender = await Site.start(veth.nx, f.dirs.sender, veth.xIp, 4710, true);
          sites.push(sender);
          await sender.ask({ op: 'connect', peers: f.holders.map((h) => ({ peerId: h.peerId, addrs: [h.addr] })) });
          const idle = await sender.ask({ op: 'stats' });
          const put = await sender.ask({ op: 'put', peers: [h1, h2], chunks: chunksOf(volumeMb), parallel, seed: `d${k}`, source: src, shape });
          const peak = Math.max(put.rssPeakBytes, put.maxRssBytes);
          if (k === 0) worst = peak;
          runs.push({
            replication: putSummary(put),
            senderIdleMB: Object.fromEntries(Object.entries(idle.memory as Record<string, number>).map(([key, v]) => [key, round(v / MB)])),
            senderPeakRssMB: round(peak / MB),
          });
        }
        const holderStats = await Promise.all(f.holders.map((h) => h.ask({ op: 'stats' })));
        result.d = {
          link: veth.label,
          volumeMb,
          runs,
          holderMaxRssMB: holderStats.map((st) => round(st.maxRssBytes / MB)),
          holderAtPeakMB: holderStats.map((st) => Object.fromEntries(Object.entries(st.atPeak as Record<string, number>).map(([key, v]) => [key, round(v / MB)]))),
          target: `<= 200 MB (judged on the first run, source ${dSources[0]})`,
        };
        targets.d = worst <= 200 * MB;
      }
    }
    result.targetsMet = targets;
    process.stdout.write(JSON.stringify(result, null, 2) + '\n');
  } finally {
    await cleanup();
  }
}

main().catch((err) => {
  process.stderr.write(`replication-bench failed: ${err.stack ?? err}\n`);
  process.exitCode = 1;
});
