import { describe, expect, it } from 'vitest';
import { ProtocolViolation } from '../../protocol/framing.js';
import { decodeEntryFrame, decodeLogMessage, encodeHeads } from '../../protocol/log/messages.js';
import { SiteLogError } from '../../storage/sitelog/errors.js';
import { seeded } from '../support/random.js';
import { keyFrom, MemLog, sealedObject } from './logs.js';

/**
 * The log sync decoders against random and mutated input: they return a value or throw a
 * ProtocolViolation / SiteLogError (a stream reset naming the peer), never anything else.
 */
const known = (err: unknown) => err instanceof ProtocolViolation || err instanceof SiteLogError;

describe('log sync decoders, fuzzed', () => {
  it('entry frames: 100,000 mutations of valid frames', () => {
    const r = seeded('log-frame-fuzz');
    const log = new MemLog(keyFrom(r));
    for (let i = 0; i < 4; i++) log.append(sealedObject(r, 1 + i));
    const frame = Buffer.concat(log.entries.map((e) => e.bytes));
    expect(decodeEntryFrame(frame).map((e) => e.seq)).toEqual([1, 2, 3, 4]);
    for (let i = 0; i < 100_000; i++) {
      const b = Buffer.from(frame.subarray(0, r.int(frame.length + 1)));
      for (let k = r.int(4); k > 0 && b.length; k--) b[r.int(b.length)] = r.int(256);
      try {
        decodeEntryFrame(b);
      } catch (err) {
        if (!known(err)) throw err;
      }
    }
  });

  it('control messages: 100,000 mutations of heads, end and ack', () => {
    const r = seeded('log-msg-fuzz');
    const heads = Array.from({ length: 3 }, () => ({ origin: r.bytes(32), siteId: '', seq: r.int(1000), hash: r.bytes(32), forked: r.int(2) === 1 }));
    const samples = [Buffer.from(encodeHeads('heads', heads)), Buffer.from(encodeHeads('ack', heads)), Buffer.from('{"t":"end","entries":5,"more":false}')];
    expect(decodeLogMessage(samples[0]!)).toMatchObject({ t: 'heads', heads: heads.map((h) => ({ seq: h.seq, forked: h.forked })) });
    for (let i = 0; i < 100_000; i++) {
      const b = Buffer.from(samples[r.int(samples.length)]!);
      for (let k = 1 + r.int(3); k > 0; k--) b[r.int(b.length)] = r.int(256);
      try {
        decodeLogMessage(b);
      } catch (err) {
        if (!known(err)) throw err;
      }
    }
  });
});
