/**
 * Network benchmark (issue 6). Two paired lomo-peer nodes in two network namespaces joined by one
 * veth link (deploy/netns/topology.sh link); goodput of `peers speedtest` (TCP + Noise + Yamux,
 * acknowledged bytes) with 1 and 4 streams, next to iperf3 on the same link in the same run, runs
 * alternated, medians. Then the same with the link shaped to 50 Mbit/s and 40 ms round trip (20 ms
 * each way), a realistic home uplink: by `tc netem` on the veth when the kernel has it, otherwise
 * (this project's VMs: no CONFIG_NET_SCH_NETEM) by the packet-level emulator deploy/netns/wire.py
 * between two TUN devices. Prints JSON. Needs root.
 * Options (env): BENCH_RUNS (3), BENCH_SECONDS (5, unshaped), BENCH_SHAPED_SECONDS (10).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { iperf3Goodput, inNs, type Link } from './netns-link.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../../..');
const cli = path.join(root, 'bin/lomo-peer.js');
const topo = path.join(root, 'deploy/netns/topology.sh');
const runs = Number(process.env.BENCH_RUNS ?? 3);
const seconds = Number(process.env.BENCH_SECONDS ?? 5);
const shapedSeconds = Number(process.env.BENCH_SHAPED_SECONDS ?? 10);
const P = `nb${process.pid % 10000}`;
const PW = `nw${process.pid % 10000}`;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

interface Node {
  proc: ChildProcess;
  db: string;
  peerId: string;
  /** The node's log so far (printed if the bench fails). */
  log: () => string;
}

async function startNode(ns: string, dir: string, ip: string, name: string): Promise<Node> {
  fs.mkdirSync(dir, { recursive: true });
  const db = path.join(dir, 'lomob.db');
  const proc = spawn('ip', ['netns', 'exec', ns, process.execPath, cli, '--db', db, '--json', 'node', '--listen', `/ip4/${ip}/tcp/4710`, '--site-name', name,
    '--no-mdns', '--no-upnp', '--no-relay', '--maintenance-interval', '5'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  proc.stderr!.on('data', (d) => (err += d));
  const started = await new Promise<{ peerId: string }>((resolve, reject) => {
    let out = '';
    proc.stdout!.on('data', (d) => {
      out += d;
      try {
        resolve(JSON.parse(out));
      } catch {
        // incomplete JSON so far
      }
    });
    proc.on('close', (code) => reject(new Error(`node ${name} exited (${code}): ${err}`)));
  });
  return { proc, db, peerId: started.peerId, log: () => err };
}

function lomo(ns: string, db: string, args: string[]): string {
  return inNs(ns, process.execPath, [cli, '--db', db, ...args]);
}


function speedtest(l: Link, x: Node, y: Node, streams: number, secs: number): number {
  try {
    const out = lomo(l.nx, x.db, ['--json', 'peers', 'speedtest', y.peerId, '--seconds', String(secs), '--streams', String(streams)]);
    return JSON.parse(out).bitsPerSecond as number;
  } catch (err) {
    const tail = (s: string) => s.split('\n').slice(-15).join('\n');
    throw new Error(`${(err as Error).message}\n--- sender log:\n${tail(x.log())}\n--- receiver log:\n${tail(y.log())}`);
  }
}

/** tc netem on both ends of the veth; false if this kernel has no netem. */
function netem(l: Link, on: boolean): boolean {
  try {
    for (const ns of [l.nx, l.ny]) {
      if (on) inNs(ns, 'tc', ['qdisc', 'replace', 'dev', 'eth0', 'root', 'netem', 'delay', '20ms', 'rate', '50mbit', 'limit', '1000']);
      else inNs(ns, 'tc', ['qdisc', 'del', 'dev', 'eth0', 'root']);
    }
    return true;
  } catch (err) {
    if (on && /qdisc kind is unknown/.test(String((err as { stderr?: string }).stderr ?? err))) return false;
    throw err;
  }
}

/** Pairs two fresh nodes on the link and measures 1 and 4 streams, lomo-peer and iperf3 alternated. */
async function measure(l: Link, work: string, secs: number, nodes: Node[]) {
  const x = await startNode(l.nx, path.join(work, `${l.nx}`), l.xIp, 'X');
  nodes.push(x);
  const y = await startNode(l.ny, path.join(work, `${l.ny}`), l.yIp, 'Y');
  nodes.push(y);
  lomo(l.ny, y.db, ['join', lomo(l.nx, x.db, ['invite']).trim()]);
  const cases = [];
  for (const streams of [1, 4]) {
    const ip: number[] = [];
    const lp: number[] = [];
    for (let r = 0; r < runs; r++) {
      // alternate which goes first, so drift in machine load hits both alike
      if (r % 2 === 0) {
        ip.push(iperf3Goodput(l, secs, streams));
        lp.push(speedtest(l, x, y, streams, secs));
      } else {
        lp.push(speedtest(l, x, y, streams, secs));
        ip.push(iperf3Goodput(l, secs, streams));
      }
    }
    const iperfMbps = median(ip) / 1e6;
    const lomoMbps = median(lp) / 1e6;
    cases.push({
      link: l.label,
      streams,
      seconds: secs,
      iperf3Mbps: +iperfMbps.toFixed(1),
      lomoMbps: +lomoMbps.toFixed(1),
      ratio: +(lomoMbps / iperfMbps).toFixed(3),
      runsIperf3Mbps: ip.map((v) => +(v / 1e6).toFixed(1)),
      runsLomoMbps: lp.map((v) => +(v / 1e6).toFixed(1)),
    });
  }
  x.proc.kill('SIGTERM');
  y.proc.kill('SIGTERM');
  return cases;
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('net-bench needs root (network namespaces)');
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'lomo-net-bench-'));
  const nodes: Node[] = [];
  const cleanup = () => {
    for (const n of nodes) n.proc.kill('SIGTERM');
    for (const prefix of [P, PW]) {
      try {
        execFileSync('bash', [topo, 'down', prefix]);
      } catch {
        // best effort
      }
    }
    fs.rmSync(work, { recursive: true, force: true });
  };
  process.once('SIGINT', () => {
    cleanup();
    process.exit(130);
  });
  try {
    execFileSync('bash', [topo, 'up', P, 'link'], { stdio: 'inherit' });
    const veth: Link = { nx: `${P}x`, ny: `${P}y`, xIp: '10.77.9.1', yIp: '10.77.9.2', label: 'veth, unshaped' };
    const cases = await measure(veth, work, seconds, nodes);
    let shaped: Link;
    if (netem(veth, true)) {
      shaped = { ...veth, label: 'veth + tc netem 50 Mbit/s, 40 ms RTT' };
    } else {
      execFileSync('bash', [topo, 'up', PW, 'wire', '50', '20'], { stdio: 'inherit' });
      shaped = { nx: `${PW}x`, ny: `${PW}y`, xIp: '10.77.8.1', yIp: '10.77.8.2', label: 'wire.py 50 Mbit/s, 40 ms RTT (no netem in this kernel)' };
    }
    cases.push(...(await measure(shaped, work, shapedSeconds, nodes)));
    process.stdout.write(
      JSON.stringify(
        {
          bench: 'net',
          what: 'goodput of lomo-peer speedtest (TCP+Noise+Yamux, acknowledged bytes) vs iperf3 on the same link between two namespaces, same run',
          cpus: os.cpus().length,
          runs,
          cases,
          shapedTargetMet: cases.filter((c) => c.link !== veth.label).every((c) => c.ratio >= 0.9),
        },
        null,
        2,
      ) + '\n',
    );
  } finally {
    cleanup();
  }
}

main().catch((err) => {
  process.stderr.write(`net-bench failed: ${err.stack ?? err}\n`);
  process.exitCode = 1;
});
