import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLibp2p, type Libp2p } from 'libp2p';
import { tcp } from '@libp2p/tcp';
import { noise } from '@chainsafe/libp2p-noise';
import { yamux } from '@chainsafe/libp2p-yamux';
import { identify, type Identify } from '@libp2p/identify';
import { ping, type Ping } from '@libp2p/ping';
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr';
import { LOOPBACK, NodeProc, tempRoot } from '../support/nodes.js';
import { count, waitFor } from '../support/wait.js';

/**
 * Issue 13, point 7: what a stranger learns and may do while an invite is open. Before the fix a
 * stranger on probation could identify (every protocol, the agent version) and ping the node,
 * reconnect at once after its probation was cut, and make the node log one warning per stream.
 */

type Stranger = Libp2p<{ identify: Identify; ping: Ping }>;

/** A stranger dialling from `localAddress` (each test its own: a cooldown is per address too). */
async function stranger(localAddress: string): Promise<Stranger> {
  const h = (await createLibp2p({
    transports: [tcp({ dialOpts: { localAddress } as object })],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    // Identify runs when asked (below), so the test sees its result rather than racing it.
    services: { identify: identify({ runOnConnectionOpen: false }), ping: ping() },
  })) as Stranger;
  await h.start();
  return h;
}

/** 'refused' when the attempt fails (libp2p objects do not print well in assertion messages). */
const outcome = (p: Promise<unknown>) => p.then(() => 'accepted', () => 'refused');

describe('a stranger during an open invite', () => {
  let root: string;
  let P: NodeProc;
  let target: Multiaddr;
  const strangers: Stranger[] = [];
  const newStranger = async (localAddress: string) => {
    const s = await stranger(localAddress);
    strangers.push(s);
    return s;
  };

  beforeAll(async () => {
    root = tempRoot();
    P = await NodeProc.start(path.join(root, 'p'), 'Pat', [...LOOPBACK, '--probation-seconds', '3']);
    await P.invite(['--expires', '10m']);
    target = multiaddr(`${P.addrs[0]}/p2p/${P.peerId}`);
  });

  afterAll(async () => {
    await Promise.all(strangers.map((s) => s.stop()));
    await P?.stop();
  });

  it('learns no protocol list nor agent version from identify, cannot ping, and is warned about once', async () => {
    const s = await newStranger('127.0.0.4');
    const conn = await s.dial(target, { signal: AbortSignal.timeout(10_000) });
    // Ten roster streams (a family protocol): each is reset, one warning names the peer.
    for (let i = 0; i < 10; i++) {
      const st = await s.dialProtocol(target, '/lomo/family/1.0.0', { signal: AbortSignal.timeout(5_000) }).catch(() => null);
      try {
        st?.send(new TextEncoder().encode('\x05hello'));
      } catch {
        // already reset: that is the point
      }
    }
    const warned = new RegExp(`family roster from ${s.peerId} reset`);
    await waitFor(() => count(P.stderr, warned) >= 1, 5_000, 'the first warning');
    const id = await s.services.identify.identify(conn, { signal: AbortSignal.timeout(5_000) }).catch(() => null);
    expect(id?.protocols ?? []).toEqual([]);
    expect(id?.agentVersion).toBeUndefined();
    expect(await outcome(s.services.ping.ping(target, { signal: AbortSignal.timeout(5_000) }))).toBe('refused');
    // The node logs the refused ping after the ten resets: then count the warnings.
    await waitFor(() => P.stderr.includes(`refused /ipfs/ping/1.0.0 stream from untrusted peer ${s.peerId}`), 5_000, 'the ping refusal');
    expect(count(P.stderr, warned)).toBe(1);
  });

  it('is refused for a cooldown after its probation ended, by peer id and by address, then admitted again', async () => {
    const s = await newStranger('127.0.0.5');
    await s.dial(target, { signal: AbortSignal.timeout(10_000) });
    await waitFor(() => P.stderr.includes(`closing probation connection of ${s.peerId}`), 10_000, 'the probation cut');
    await waitFor(() => s.getConnections().filter((c) => c.status === 'open').length === 0, 5_000, 'the connection to close');
    expect(await outcome(s.dial(target, { signal: AbortSignal.timeout(5_000) }))).toBe('refused');
    const other = await newStranger('127.0.0.5'); // a fresh key from the same address
    expect(await outcome(other.dial(target, { signal: AbortSignal.timeout(5_000) }))).toBe('refused');
    expect(P.stderr).toMatch(/refused inbound connection from 127\.0\.0\.5: cooling down after a probation/);
    // The cooldown is twice the probation (6 s here): then the stranger may try again.
    await waitFor(async () => (await s.dial(target, { signal: AbortSignal.timeout(2_000) }).then(() => true, () => false)), 20_000, 'the end of the cooldown', 1_000);
  });
});
