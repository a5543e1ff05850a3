/**
 * Inbound benchmark (issue 13, point 4). A site's node (LomoNode, in this process, on loopback)
 * and family members (libp2p hosts whose keys the node's catalog trusts) that each open a fresh
 * connection to it and ping it, round after round: success count and set-up time (dial + ping,
 * median and 90th percentile), first with no attack, then while a stranger holds 50 idle TCP
 * sockets from 127.0.0.2 (never speaking, reopening what the node closes), in the same run.
 * Members dial from 127.0.0.1 (an address on the node's family allow list) and one from
 * 127.0.0.3 (an address the catalog does not know: only the per-address limit protects it).
 * Prints JSON. Options (env): BENCH_ROUNDS (20), BENCH_MEMBERS (4), BENCH_SOCKETS (50).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createLibp2p, type Libp2p } from 'libp2p';
import { tcp } from '@libp2p/tcp';
import { noise } from '@chainsafe/libp2p-noise';
import { yamux } from '@chainsafe/libp2p-yamux';
import { ping, type Ping } from '@libp2p/ping';
import { peerIdFromString } from '@libp2p/peer-id';
import type { PeerId } from '@libp2p/interface';
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr';
import { LomoNode } from '../../node/host/lomo-node.js';
import { setLogLevel } from '../../node/log.js';
import { savePairedPeer } from '../../storage/trust/peers.js';
import { holdIdleSockets } from './idle-sockets.js';

const rounds = Number(process.env.BENCH_ROUNDS ?? 20);
const memberCount = Number(process.env.BENCH_MEMBERS ?? 4);
const socketCount = Number(process.env.BENCH_SOCKETS ?? 50);
const ATTACK_WARMUP_MS = 3_000; // libp2p admits 5 connections/s per address: 2 s to hold 10
const DIAL_TIMEOUT_MS = 8_000;
/** Rounds start this far apart: the member from an unknown address stays within 5 connections/s. */
const ROUND_MS = 250;

type Member = { host: Libp2p<{ ping: Ping }>; from: string };

const median = (xs: number[]) => (xs.length ? [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]! : null);
const p90 = (xs: number[]) => (xs.length ? [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * 0.9))]! : null);
const round1 = (x: number | null) => (x === null ? null : Math.round(x * 10) / 10);

async function member(node: LomoNode, from: string, addrs: string[]): Promise<Member> {
  const host = (await createLibp2p({
    transports: [tcp({ dialOpts: { localAddress: from } as object })],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    services: { ping: ping() },
  })) as Libp2p<{ ping: Ping }>;
  await host.start();
  const id = host.peerId.toString();
  savePairedPeer(node.db, { peerId: id, name: `m-${id.slice(-6)}`, siteName: 'bench member', addrs, quotaOffered: null, quotaGranted: null, introducedBy: null });
  return { host, from };
}

/** One fresh connection + ping per member, in parallel; ms of each success, count of failures. */
async function round(members: Member[], target: Multiaddr, peer: PeerId): Promise<{ ms: number[]; failed: number }> {
  const results = await Promise.all(
    members.map(async (m) => {
      await m.host.hangUp(peer);
      const t = performance.now();
      try {
        await m.host.dial(target, { signal: AbortSignal.timeout(DIAL_TIMEOUT_MS) });
        await m.host.services.ping.ping(target, { signal: AbortSignal.timeout(DIAL_TIMEOUT_MS) });
        return performance.now() - t;
      } catch {
        return null;
      }
    }),
  );
  return { ms: results.filter((x): x is number => x !== null), failed: results.filter((x) => x === null).length };
}

async function phase(members: Member[], target: Multiaddr, peer: PeerId) {
  const ms: number[] = [];
  let failed = 0;
  for (let r = 0; r < rounds; r++) {
    const start = performance.now();
    const res = await round(members, target, peer);
    await new Promise((done) => setTimeout(done, Math.max(0, ROUND_MS - (performance.now() - start))));
    ms.push(...res.ms);
    failed += res.failed;
  }
  return { dials: rounds * members.length, ok: ms.length, failed, setupMedianMs: round1(median(ms)), setupP90Ms: round1(p90(ms)) };
}

async function main(): Promise<void> {
  setLogLevel(2); // errors only: the node's refusals would drown the figures
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lomo-inbound-bench-'));
  const node = await LomoNode.start({
    dbFile: path.join(dir, 'lomob.db'),
    dataDir: dir,
    listen: ['/ip4/127.0.0.1/tcp/0'],
    mdns: false,
    upnp: false,
    relayServer: false,
    relayClient: false,
    siteName: 'bench',
    maintenanceMs: 3_600_000,
  });
  const addr = node.addrs().find((a) => a.includes('/ip4/127.0.0.1/tcp/'))!;
  const target = multiaddr(`${addr}/p2p/${node.peerId}`);
  const peer = peerIdFromString(node.peerId);
  const port = Number(/\/tcp\/(\d+)/.exec(addr)![1]);
  const members: Member[] = [];
  try {
    for (let i = 0; i < memberCount - 1; i++) members.push(await member(node, '127.0.0.1', ['/ip4/127.0.0.1/tcp/4710']));
    members.push(await member(node, '127.0.0.3', []));
    await round(members, target, peer); // warm-up (first Noise handshakes, JIT)
    const t0 = performance.now();
    const without = await phase(members, target, peer);
    const attack = holdIdleSockets({ host: '127.0.0.1', port, count: socketCount, localAddress: '127.0.0.2' });
    await new Promise((r) => setTimeout(r, ATTACK_WARMUP_MS));
    const during = await phase(members, target, peer);
    const attackFigures = { sockets: socketCount, from: '127.0.0.2', connectionsOpened: attack.opened(), openAtEnd: attack.open() };
    attack.stop();
    const out = {
      bench: 'inbound',
      rounds,
      members: members.map((m) => m.from),
      withoutAttack: without,
      withAttack: during,
      attack: attackFigures,
      seconds: Math.round((performance.now() - t0) / 100) / 10,
      loadavg: os.loadavg().map((x) => Math.round(x * 100) / 100),
      cpus: os.cpus().length,
    };
    process.stdout.write(JSON.stringify(out, null, 2) + '\n');
  } finally {
    await Promise.all(members.map((m) => m.host.stop()));
    await node.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  process.stderr.write(`inbound bench failed: ${(err as Error).stack ?? err}\n`);
  process.exit(1);
});
