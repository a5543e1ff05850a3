import type { Connection, Stream } from '@libp2p/interface';
import { decodeJsonObject, encodeJson, FramedStream, ProtocolViolation } from './framing.js';
import { optUint } from './fields.js';

/**
 * /lomo/speedtest/1.0.0: measures stream goodput to a family member (`lomo-peer peers speedtest`,
 * the network benchmark). The sender writes raw bytes for a fixed time and half-closes; the
 * receiver counts them and answers one frame {t: 'count', bytes}, the application-level
 * acknowledgement that the bytes arrived (libp2p may drop data written just before a close).
 * Only trusted peers may use it; the receiver keeps nothing, so memory stays bounded.
 */
export const SPEEDTEST_PROTOCOL = '/lomo/speedtest/1.0.0';
const CHUNK = 256 * 1024;
/** A test may run at most this long on the receiving side. */
const MAX_TEST_MS = 120_000;

export async function handleSpeedtestStream(stream: Stream, connection: Connection, trusted: (peerId: string) => boolean, warn: (m: string) => void): Promise<void> {
  const from = connection.remotePeer.toString();
  try {
    if (!trusted(from)) throw new ProtocolViolation('speedtest from a peer that is not trusted');
    // Count bytes as they arrive and drop them: nothing is buffered, whatever the sender does.
    let total = 0;
    const onMessage = (evt: { data: { byteLength: number } }) => {
      total += evt.data.byteLength;
    };
    stream.addEventListener('message', onMessage);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new ProtocolViolation(`speedtest longer than ${MAX_TEST_MS} ms`)), MAX_TEST_MS);
      const done = (err?: Error) => {
        clearTimeout(timer);
        if (err) reject(err);
        else resolve();
      };
      if (stream.remoteWriteStatus !== 'writable') return done();
      stream.addEventListener('remoteCloseWrite', () => done(), { once: true });
      stream.addEventListener('close', (evt) => done((evt as unknown as { error?: Error }).error ?? new Error('stream closed early')), { once: true });
    });
    stream.removeEventListener('message', onMessage);
    const fs = new FramedStream(stream);
    await fs.write(encodeJson({ t: 'count', bytes: total }));
    await fs.close();
  } catch (err) {
    warn(`speedtest stream from ${from} reset: ${(err as Error).message}`);
    stream.abort(err as Error);
  }
}

export interface SpeedtestResult {
  streams: number;
  seconds: number;
  /** Bytes the receiver acknowledged. */
  bytes: number;
  bitsPerSecond: number;
}

/** Sends for `durationMs` on `streams` parallel streams and returns the acknowledged goodput. */
export async function runSpeedtest(open: () => Promise<Stream>, opts: { durationMs: number; streams: number }): Promise<SpeedtestResult> {
  const payload = new Uint8Array(CHUNK);
  for (let i = 0; i < payload.length; i++) payload[i] = (i * 2654435761) >>> 24; // not all zeros
  const streams = await Promise.all(Array.from({ length: opts.streams }, () => open()));
  const t0 = performance.now();
  const end = t0 + opts.durationMs;
  const counts = await Promise.all(
    streams.map(async (s) => {
      // Listen for the count before sending, so the reply cannot arrive unobserved.
      const fs = new FramedStream(s, { readTimeoutMs: 60_000 });
      while (performance.now() < end) {
        if (!s.send(payload)) {
          await new Promise<void>((resolve, reject) => {
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
      }
      await s.close({ signal: AbortSignal.timeout(60_000) });
      const reply = decodeJsonObject(await fs.readRequired('count'));
      return optUint(reply, 'bytes') ?? 0;
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  const bytes = counts.reduce((a, b) => a + b, 0);
  return { streams: opts.streams, seconds, bytes, bitsPerSecond: (bytes * 8) / seconds };
}
