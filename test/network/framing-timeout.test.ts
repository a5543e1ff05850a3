import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLibp2p, type Libp2p } from 'libp2p';
import { tcp } from '@libp2p/tcp';
import { noise } from '@chainsafe/libp2p-noise';
import { yamux } from '@chainsafe/libp2p-yamux';
import type { Stream } from '@libp2p/interface';
import { encodeJson, FramedStream, ProtocolTimeout } from '../../protocol/framing.js';

/**
 * FramedStream's read timeout (one timer per stream, restarted by each read): every read gets
 * readTimeoutMs from its start, however long the stream lives and whatever happened between
 * reads; a caller's own signal still aborts a read, and is not reported as a timeout.
 */

const PROTOCOL = '/lomo-test/framing-timeout/1.0.0';
const TIMEOUT_MS = 400;

/** What the peer sends: each step waits `afterMs`, then sends one control frame (or closes). */
type Step = { afterMs: number; close?: boolean };

describe('FramedStream read timeout', () => {
  let a: Libp2p;
  let b: Libp2p;
  const scripts: Step[][] = [];

  beforeAll(async () => {
    const host = () => createLibp2p({ addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] }, transports: [tcp()], connectionEncrypters: [noise()], streamMuxers: [yamux()] });
    [a, b] = await Promise.all([host(), host()]);
    // b plays the next script of `scripts` on each stream it is opened.
    await b.handle(PROTOCOL, async (stream: Stream) => {
      const fs = new FramedStream(stream);
      for (const [i, step] of scripts.shift()!.entries()) {
        await new Promise((r) => setTimeout(r, step.afterMs));
        if (step.close) return fs.close();
        await fs.write(encodeJson({ i }));
      }
    });
  });

  afterAll(async () => {
    await a?.stop();
    await b?.stop();
  });

  const open = async (script: Step[]) => {
    scripts.push(script);
    const stream = await a.dialProtocol(b.getMultiaddrs()[0]!, PROTOCOL, { signal: AbortSignal.timeout(5_000) });
    return new FramedStream(stream, { readTimeoutMs: TIMEOUT_MS });
  };

  it('each read has the whole timeout from its start: frames 0.6 timeout apart are read for 5 timeouts', async () => {
    const steps = Array.from({ length: 8 }, () => ({ afterMs: TIMEOUT_MS * 0.6 }));
    const fs = await open([...steps, { afterMs: 0, close: true }]);
    const deadline = AbortSignal.timeout(30_000); // the caller's own signal, joined with the timer
    for (let i = 0; i < steps.length; i++) expect(JSON.parse(Buffer.from((await fs.read(deadline))!).toString())).toEqual({ i });
    expect(await fs.read(deadline)).toBeNull();
  });

  it('a quiet gap between reads does not count: the timer running out while nobody reads does nothing', async () => {
    const fs = await open([{ afterMs: 0 }, { afterMs: TIMEOUT_MS * 2.5 }, { afterMs: 0, close: true }]);
    expect(await fs.read()).not.toBeNull();
    // Not reading for 2 timeouts; the second frame then comes 0.5 timeout after the next read starts.
    await new Promise((r) => setTimeout(r, TIMEOUT_MS * 2));
    expect(await fs.read()).not.toBeNull();
    expect(await fs.read()).toBeNull();
  });

  it('a stalled peer: the read fails with ProtocolTimeout after the timeout, and so does the next one', async () => {
    const fs = await open([{ afterMs: 0 }, { afterMs: TIMEOUT_MS * 10 }]);
    expect(await fs.read()).not.toBeNull();
    for (let k = 0; k < 2; k++) {
      const t0 = performance.now();
      await expect(fs.read()).rejects.toBeInstanceOf(ProtocolTimeout);
      const took = performance.now() - t0;
      expect(took).toBeGreaterThanOrEqual(TIMEOUT_MS - 20);
      expect(took).toBeLessThan(TIMEOUT_MS * 3);
    }
    fs.abort(new Error('done'));
  });

  it("the caller's signal aborts a read, and that is not a timeout", async () => {
    const fs = await open([{ afterMs: TIMEOUT_MS * 10 }]);
    const caller = new AbortController();
    setTimeout(() => caller.abort(new Error('caller gave up')), TIMEOUT_MS / 4);
    const err = await fs.read(caller.signal).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect(err).not.toBeInstanceOf(ProtocolTimeout);
    fs.abort(new Error('done'));
  });
});
