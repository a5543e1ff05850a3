import type { Stream } from '@libp2p/interface';
import { decodeJsonObject, encodeBinaryFrame, encodeJson, FramedStream, PAUSED_BYTES, ProtocolViolation } from '../framing.js';
import { optUint } from '../fields.js';
import { ProtocolService, type ServiceComponents } from '../service.js';
import { COUNT_TIMEOUT_MS, MAX_PAYLOAD_BYTES, MAX_TEST_MS, PAYLOAD_BYTES, SPEEDTEST_SPEC } from './constants.js';

/**
 * The sender writes binary frames for a fixed time and half-closes; the receiver counts their
 * payload bytes and answers one control message {t: 'count', bytes}, the application-level
 * acknowledgement that the bytes arrived (libp2p may drop data written just before a close).
 * The receiver keeps nothing but one frame at a time, so memory stays bounded.
 *
 *   sender   -> receiver  binary frames (PAYLOAD_BYTES each), then half-close
 *   receiver -> sender    count {bytes}
 */

export interface SpeedtestResult {
  streams: number;
  seconds: number;
  /** Payload bytes the receiver acknowledged. */
  bytes: number;
  bitsPerSecond: number;
}

export class Speedtest extends ProtocolService {
  constructor(
    components: ServiceComponents,
    /** Called before every test, either side: a test should see the heap a chunk transfer sees. */
    private readonly onBulkTransfer: () => void = () => {},
  ) {
    super(SPEEDTEST_SPEC, components);
  }

  /** Receiver: counts payload bytes until the sender half-closes, then acknowledges the count. */
  protected async handleStream(stream: Stream): Promise<void> {
    this.onBulkTransfer();
    // A bulk receiver: paused between reads, so a sender faster than this (loaded) event loop waits
    // after one yamux window instead of overflowing the read buffer (framing.ts flowControl).
    const fs = new FramedStream(stream, { maxBinary: MAX_PAYLOAD_BYTES, flowControl: true, maxBuffered: PAUSED_BYTES });
    const deadline = AbortSignal.timeout(MAX_TEST_MS);
    let total = 0;
    for (;;) {
      let frame;
      try {
        frame = await fs.readFrame(deadline);
      } catch (err) {
        if (deadline.aborted) throw new ProtocolViolation(`speedtest longer than ${MAX_TEST_MS} ms`);
        throw err;
      }
      if (frame === null) break;
      if (frame.type !== 'binary') throw new ProtocolViolation('a speedtest sender sends only binary frames');
      total += frame.payload.length;
    }
    await fs.write(encodeJson({ t: 'count', bytes: total }));
    await fs.close();
  }

  /** Sends for `durationMs` on `streams` parallel streams and returns the acknowledged goodput. */
  async run(peerId: string, opts: { durationMs: number; streams: number }): Promise<SpeedtestResult> {
    this.onBulkTransfer();
    const payload = new Uint8Array(PAYLOAD_BYTES);
    for (let i = 0; i < payload.length; i++) payload[i] = (i * 2654435761) >>> 24; // not all zeros
    const frame = encodeBinaryFrame(payload); // the same frame every time: encoded once
    const streams = await Promise.all(Array.from({ length: opts.streams }, () => this.openStream(peerId)));
    const t0 = performance.now();
    const end = t0 + opts.durationMs;
    const counts = await Promise.all(
      streams.map(async (s) => {
        // Listen for the count before sending, so the reply cannot arrive unobserved.
        const fs = new FramedStream(s, { readTimeoutMs: COUNT_TIMEOUT_MS });
        try {
          while (performance.now() < end) {
            if (!s.send(frame)) await drained(s);
          }
          await s.close({ signal: AbortSignal.timeout(COUNT_TIMEOUT_MS) });
          const reply = decodeJsonObject(await fs.readRequired('count'));
          return optUint(reply, 'bytes') ?? 0;
        } catch (err) {
          s.abort(err as Error);
          throw err;
        }
      }),
    );
    const seconds = (performance.now() - t0) / 1000;
    const bytes = counts.reduce((a, b) => a + b, 0);
    return { streams: opts.streams, seconds, bytes, bitsPerSecond: (bytes * 8) / seconds };
  }
}

/** Resolves on `drain`, rejects if the stream closes first (backpressure, as @libp2p/ping does). */
function drained(s: Stream): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const ok = () => {
      s.removeEventListener('close', bad);
      resolve();
    };
    const bad = () => {
      s.removeEventListener('drain', ok);
      reject(new Error('stream closed during the test'));
    };
    s.addEventListener('drain', ok, { once: true });
    s.addEventListener('close', bad, { once: true });
  });
}
