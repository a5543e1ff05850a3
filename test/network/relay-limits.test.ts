import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLibp2p, type Libp2p } from 'libp2p';
import { tcp } from '@libp2p/tcp';
import { noise } from '@chainsafe/libp2p-noise';
import { yamux } from '@chainsafe/libp2p-yamux';
import { identify } from '@libp2p/identify';
import { circuitRelayTransport } from '@libp2p/circuit-relay-v2';
import { generateKeyPair } from '@libp2p/crypto/keys';
import { multiaddr } from '@multiformats/multiaddr';
import { createHost, type Host } from '../../node/host/host.js';
import { STRANGER_RELAY_LIMIT } from '../../node/host/relay-limits.js';
import { waitFor } from '../support/wait.js';

/**
 * Issue 13, point 7: a family relay (createHost with relayServer) carries family traffic without
 * limits, and a stranger's relayed connection to a member with an open invite only within the
 * limits of a pairing exchange. Three in-process hosts on loopback: the relay, the inviter
 * (listening through the relay) and a dialler that is family or a stranger.
 */
async function peer(listen: string[] = []): Promise<Libp2p> {
  const h = await createLibp2p({
    addresses: { listen },
    transports: [tcp(), circuitRelayTransport()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    services: { identify: identify() },
  });
  await h.start();
  return h;
}

describe('relayed connections through a family relay', () => {
  let relay: Host;
  let inviter: Libp2p, member: Libp2p, stranger: Libp2p;
  const family = new Set<string>();
  let circuit = '';

  beforeAll(async () => {
    relay = await createHost({
      privateKey: await generateKeyPair('Ed25519'),
      listen: ['/ip4/127.0.0.1/tcp/0'],
      announce: [],
      gater: {},
      mdns: false,
      upnp: false,
      relayServer: true,
      relayClient: false,
      isFamily: (id) => family.has(id),
    });
    await relay.start();
    [inviter, member, stranger] = await Promise.all([peer(['/p2p-circuit']), peer(), peer()]);
    family.add(inviter.peerId.toString());
    family.add(member.peerId.toString());
    await inviter.dial(relay.getMultiaddrs()[0]!, { signal: AbortSignal.timeout(10_000) });
    await waitFor(() => inviter.getMultiaddrs().some((a) => a.toString().includes('/p2p-circuit')), 15_000, 'the inviter\'s relay reservation');
    circuit = inviter.getMultiaddrs().find((a) => a.toString().includes('/p2p-circuit'))!.toString();
  });

  afterAll(async () => {
    await Promise.all([relay?.stop(), inviter?.stop(), member?.stop(), stranger?.stop()]);
  });

  it('a family member\'s relayed connection has no limit', async () => {
    const conn = await member.dial(multiaddr(circuit), { signal: AbortSignal.timeout(10_000) });
    expect(conn.remoteAddr.toString()).toContain('/p2p-circuit');
    expect(conn.limits).toBeUndefined();
  });

  it('a stranger\'s relayed connection is bounded in data and time', async () => {
    const conn = await stranger.dial(multiaddr(circuit), { signal: AbortSignal.timeout(10_000) });
    expect(conn.remoteAddr.toString()).toContain('/p2p-circuit');
    // What is left of the data limit once the handshakes went through the relay.
    expect(conn.limits?.bytes).toBeGreaterThan(STRANGER_RELAY_LIMIT.data - 4096n);
    expect(conn.limits?.bytes).toBeLessThanOrEqual(STRANGER_RELAY_LIMIT.data);
    // The relay enforces the duration in ms; libp2p 3 puts the same number in the message's
    // `seconds` field, so the dialler sees 60000 "seconds": only the relay's clock counts.
    expect(conn.limits?.seconds).toBe(STRANGER_RELAY_LIMIT.duration);
    // The inviter, told by the relay, marks its side limited too.
    await waitFor(() => inviter.getConnections(stranger.peerId).some((c) => c.limits !== undefined), 5_000, 'the inviter\'s limited connection');
  });
});
