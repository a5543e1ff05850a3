import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLibp2p, type Libp2p } from 'libp2p';
import { tcp } from '@libp2p/tcp';
import { noise } from '@chainsafe/libp2p-noise';
import { yamux } from '@chainsafe/libp2p-yamux';
import { ping, type Ping } from '@libp2p/ping';
import { peerIdFromString } from '@libp2p/peer-id';
import { multiaddr } from '@multiformats/multiaddr';
import { holdIdleSockets, type IdleSockets } from '../../deploy/bench/idle-sockets.js';
import { startFamily, type Family, type NodeProc } from '../support/nodes.js';
import { waitFor } from '../support/wait.js';

/**
 * Issue 13, point 4: inbound exhaustion before Noise. A stranger holds 50 TCP sockets to a node
 * and never speaks (reopening each one the node closes). Before the fix, libp2p's 10 pending
 * inbound connections (10 s each, before the gater runs) were all his and every other inbound
 * connection was refused. The stranger dials from 127.0.0.2, a stranger's own address (on
 * 127.0.0.1 it would share the family's address, which is on the node's allow list).
 */

type Member = Libp2p<{ ping: Ping }>;

/** A family member in this process: a libp2p host whose key the node's catalog trusts. */
async function member(node: NodeProc, opts: { localAddress?: string; addrs: string[] }): Promise<Member> {
  const h = (await createLibp2p({
    // dialOpts reach net.connect as they are (TCPSocketOptions does not list localAddress).
    transports: [tcp(opts.localAddress ? { dialOpts: { localAddress: opts.localAddress } as object } : {})],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    services: { ping: ping() },
  })) as Member;
  await h.start();
  const db = new Database(node.db);
  db.prepare(`INSERT INTO peers (peer_id, name, site_name, addrs, paired_at) VALUES (?, ?, ?, ?, ?)`)
    .run(h.peerId.toString(), `member-${h.peerId.toString().slice(-6)}`, 'in-process member', JSON.stringify(opts.addrs), Date.now());
  db.close();
  return h;
}

/** Dials the node afresh and pings it; resolves with the milliseconds both took. */
async function connectAndPing(h: Member, node: NodeProc): Promise<number> {
  const target = multiaddr(`${node.addrs.find((a) => a.includes('127.0.0.1'))}/p2p/${node.peerId}`);
  await h.hangUp(peerIdFromString(node.peerId));
  const t = performance.now();
  await h.dial(target, { signal: AbortSignal.timeout(8_000) });
  await h.services.ping.ping(target, { signal: AbortSignal.timeout(8_000) });
  return performance.now() - t;
}

describe('inbound connections while a stranger stalls 50 sockets before Noise', () => {
  let family: Family;
  let A: NodeProc;
  let attack: IdleSockets | null = null;
  const members: Member[] = [];

  beforeAll(async () => {
    family = await startFamily(['Ann']);
    A = family.nodes[0]!;
  });

  afterAll(async () => {
    attack?.stop();
    await Promise.all(members.map((m) => m.stop()));
    await family?.stop();
  });

  it('a trusted family member still connects and pings within a few seconds', async () => {
    const m = await member(A, { addrs: ['/ip4/127.0.0.1/tcp/4710'] });
    members.push(m);
    expect(await connectAndPing(m, A)).toBeLessThan(5_000); // without the attack
    const port = Number(/\/tcp\/(\d+)/.exec(A.addrs.find((a) => a.includes('127.0.0.1'))!)![1]);
    attack = holdIdleSockets({ host: '127.0.0.1', port, count: 50, localAddress: '127.0.0.2' });
    // The attack lasts 3 s before the member dials: libp2p admits 5 connections per second from one
    // address, so the stranger needs 2 s to hold 10; it keeps reopening what the node closes.
    const since = Date.now();
    await waitFor(() => Date.now() - since >= 3_000 && attack!.opened() >= 60, 20_000, '3 s of attack');
    for (let i = 0; i < 3; i++) {
      const ms = await connectAndPing(m, A);
      expect(ms).toBeLessThan(3_000);
    }
    // A member from an address the catalog does not know (not on the allow list): admitted too,
    // because what a stranger may hold is counted per address.
    const fresh = await member(A, { localAddress: '127.0.0.3', addrs: [] });
    members.push(fresh);
    expect(await connectAndPing(fresh, A)).toBeLessThan(3_000);
    expect(attack.open()).toBeGreaterThan(0); // the attack was still running
  });
});
