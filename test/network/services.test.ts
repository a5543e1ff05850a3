import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLibp2p, type Libp2p } from 'libp2p';
import { tcp } from '@libp2p/tcp';
import { noise } from '@chainsafe/libp2p-noise';
import { yamux } from '@chainsafe/libp2p-yamux';
import { decodeJsonObject, encodeBinaryFrame, encodeFrame, encodeJson, FramedStream } from '../../protocol/framing.js';
import type { ServiceComponents } from '../../protocol/service.js';
import { SPEEDTEST_PROTOCOL, speedtestService, type Speedtest } from '../../protocol/speedtest/index.js';
import { waitFor } from '../support/wait.js';

/**
 * Protocol services on two real in-process libp2p hosts (TCP + Noise + Yamux on loopback): the
 * registration from a service's spec, the one trust wrapper, start/stop, and speedtest 2.0.0 over
 * binary frames.
 */

async function host(): Promise<Libp2p> {
  const h = await createLibp2p({ addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] }, transports: [tcp()], connectionEncrypters: [noise()], streamMuxers: [yamux()] });
  await h.start();
  return h;
}

/** A site: a host, its trust list, its warnings, and a speedtest service built by the factory. */
async function site(): Promise<{ h: Libp2p; trusted: Set<string>; warnings: string[]; speedtest: Speedtest }> {
  const h = await host();
  const trusted = new Set<string>();
  const warnings: string[] = [];
  const components: ServiceComponents = {
    host: h,
    trust: { trusted: (id) => trusted.has(id) },
    log: { info: () => {}, warn: (m) => warnings.push(m) },
  };
  const speedtest = speedtestService()(components);
  await speedtest.start();
  return { h, trusted, warnings, speedtest };
}

describe('protocol services on real libp2p hosts', () => {
  let A: Awaited<ReturnType<typeof site>>;
  let B: Awaited<ReturnType<typeof site>>;
  let stranger: Libp2p;

  beforeAll(async () => {
    [A, B, stranger] = await Promise.all([site(), site(), host()]);
    A.trusted.add(B.h.peerId.toString());
    B.trusted.add(A.h.peerId.toString());
    await B.h.peerStore.merge(A.h.peerId, { multiaddrs: A.h.getMultiaddrs() });
    await stranger.peerStore.merge(A.h.peerId, { multiaddrs: A.h.getMultiaddrs() });
  });

  afterAll(async () => {
    await Promise.all([A?.h.stop(), B?.h.stop(), stranger?.stop()]);
  });

  it('a family service serves a trusted peer: speedtest 2.0.0 counts whole binary payloads', async () => {
    expect(A.speedtest.isStarted()).toBe(true);
    expect(A.speedtest.protocol).toBe('/lomo/speedtest/2.0.0');
    const r = await B.speedtest.run(A.h.peerId.toString(), { durationMs: 300, streams: 2 });
    expect(r.streams).toBe(2);
    expect(r.bytes).toBeGreaterThan(0);
    // The receiver counts payload bytes of binary frames of 256 KiB, not headers.
    expect(r.bytes % (256 * 1024)).toBe(0);
    expect(A.warnings).toEqual([]);
  });

  it('the wrapper resets a stranger on a family service, names it in one warning, and the client refuses strangers', async () => {
    const s = await stranger.dialProtocol(A.h.peerId, SPEEDTEST_PROTOCOL, { signal: AbortSignal.timeout(10_000) });
    const id = stranger.peerId.toString();
    await waitFor(() => A.warnings.some((w) => w === `speedtest stream from ${id} reset: speedtest from a peer that is not trusted`), 10_000, 'the refusal');
    await waitFor(() => s.status !== 'open', 10_000, 'the reset');
    await expect(A.speedtest.run(id, { durationMs: 100, streams: 1 })).rejects.toThrow(`${id} is not a trusted peer`);
  });

  it('a handler that throws resets only its stream: raw unframed bytes (speedtest 1.0.0 style) and a control message', async () => {
    const before = A.warnings.length;
    const raw = await B.h.dialProtocol(A.h.peerId, SPEEDTEST_PROTOCOL, { signal: AbortSignal.timeout(10_000) });
    raw.send(new Uint8Array(64 * 1024).fill(0xff)); // 0xff...: a length prefix that never ends
    const json = await B.h.dialProtocol(A.h.peerId, SPEEDTEST_PROTOCOL, { signal: AbortSignal.timeout(10_000) });
    json.send(encodeFrame(encodeJson({ t: 'count', bytes: 1 })));
    await waitFor(() => A.warnings.length >= before + 2, 10_000, 'two resets');
    const mine = A.warnings.slice(before);
    expect(mine.some((w) => /speedtest stream from .* reset: length prefix too long/.test(w))).toBe(true);
    expect(mine.some((w) => /reset: a speedtest sender sends only binary frames/.test(w))).toBe(true);
    // The service still serves: a well-formed test right after.
    const ok = await B.h.dialProtocol(A.h.peerId, SPEEDTEST_PROTOCOL, { signal: AbortSignal.timeout(10_000) });
    const fs = new FramedStream(ok);
    await fs.writeBinary(new Uint8Array(1000));
    await fs.writeBinary(new Uint8Array(24));
    await fs.close();
    expect(decodeJsonObject(await fs.readRequired('count'))).toEqual({ t: 'count', bytes: 1024 });
  });

  it('a binary payload above the service limit is refused on its header', async () => {
    const before = A.warnings.length;
    const s = await B.h.dialProtocol(A.h.peerId, SPEEDTEST_PROTOCOL, { signal: AbortSignal.timeout(10_000) });
    // 4 MiB announced, only the header sent: refused without waiting for the body.
    s.send(encodeBinaryFrame(new Uint8Array(4 * 1024 * 1024)).subarray(0, 5));
    await waitFor(() => A.warnings.slice(before).some((w) => /exceeds the limit of 1048577/.test(w)), 10_000, 'the refusal');
  });

  it('stop() unregisters the handler', async () => {
    await A.speedtest.stop();
    expect(A.speedtest.isStarted()).toBe(false);
    await expect(B.h.dialProtocol(A.h.peerId, SPEEDTEST_PROTOCOL, { signal: AbortSignal.timeout(10_000) })).rejects.toThrow();
    await A.speedtest.start();
    const r = await B.speedtest.run(A.h.peerId.toString(), { durationMs: 100, streams: 1 });
    expect(r.bytes).toBeGreaterThan(0);
  });
});
