import { decodeEntry, entryLength, HASH_BYTES, HEADER_BYTES, type SiteLogEntry } from '../../storage/sitelog/entry.js';
import { SiteLogError } from '../../storage/sitelog/errors.js';
import type { PeerHead } from '../../storage/sitelog/replicas.js';
import { PUBLIC_KEY_BYTES, siteIdOfKey } from '../../storage/sitelog/site-id.js';
import { arr, b64, bytes, kind, object, optUint } from '../fields.js';
import { decodeJsonObject, encodeJson, ProtocolViolation } from '../framing.js';
import { MAX_HEADS } from './constants.js';

/**
 * Messages of /lomo/log/1.0.0 (docs/replication.md). Control messages are JSON frames:
 *   {t: 'heads', heads: [{o, s, h, f?}]}   o: origin key (base64, 32 bytes), s: seq, h: head hash
 *                                           (base64, 32 bytes), f: 1 when the log is flagged forked
 *   {t: 'end', entries: n, more: bool}      after the last entry frame of this stream
 *   {t: 'ack', heads: [...]}                the sender's heads after storing what it received
 * Entries travel in binary frames, each holding whole encoded entries back to back (every entry
 * says its own length in its header).
 */

export interface WireHead extends PeerHead {
  forked: boolean;
}

export function encodeHeads(t: 'heads' | 'ack', heads: readonly (PeerHead & { forked?: boolean })[]): Uint8Array {
  return encodeJson({ t, heads: heads.map((h) => ({ o: b64(h.origin), s: h.seq, h: b64(h.hash), ...(h.forked ? { f: 1 } : {}) })) });
}

export type LogMessage = { t: 'heads' | 'ack'; heads: WireHead[] } | { t: 'end'; entries: number; more: boolean };

/** Decodes a control message; anything malformed is a ProtocolViolation. */
export function decodeLogMessage(frame: Uint8Array): LogMessage {
  const m = decodeJsonObject(frame);
  const t = kind(m);
  if (t === 'heads' || t === 'ack') {
    const seen = new Set<string>();
    const heads = arr(m, 'heads', MAX_HEADS).map((v, i) => {
      const o = object(v, `heads[${i}]`);
      const origin = Buffer.from(bytes(o, 'o', PUBLIC_KEY_BYTES));
      const seq = optUint(o, 's');
      if (seq === null) throw new ProtocolViolation(`heads[${i}].s is missing`);
      const hash = Buffer.from(bytes(o, 'h', HASH_BYTES));
      const key = origin.toString('hex');
      if (seen.has(key)) throw new ProtocolViolation(`heads[${i}] lists a log twice`);
      seen.add(key);
      return { origin, siteId: siteIdOfKey(origin), seq, hash, forked: o.f === 1 };
    });
    return { t, heads };
  }
  if (t === 'end') {
    const entries = optUint(m, 'entries');
    if (entries === null || typeof m.more !== 'boolean') throw new ProtocolViolation('end needs entries and more');
    return { t, entries, more: m.more };
  }
  throw new ProtocolViolation(`unexpected log sync message ${JSON.stringify(t)}`);
}

/**
 * The entries of one binary frame, decoded strictly (entry.ts). A frame must hold whole entries:
 * a truncated or oversized one is refused (a SiteLogError, which names its origin when known).
 */
export function decodeEntryFrame(payload: Uint8Array): SiteLogEntry[] {
  return splitEntryFrame(payload).map(decodeEntry);
}

/**
 * The entries of one binary frame as views into it, cut by the length each entry's header states
 * (a truncated or oversized one is refused); each is decoded strictly later, where it is checked
 * (acceptRemote), so a batch waiting for its turn holds bytes, not decoded objects.
 */
export function splitEntryFrame(payload: Uint8Array): Buffer[] {
  const buf = Buffer.isBuffer(payload) ? payload : Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
  const out: Buffer[] = [];
  let at = 0;
  while (at < buf.length) {
    if (buf.length - at < HEADER_BYTES) throw new SiteLogError('malformed', `entry truncated: ${buf.length - at} bytes left in the frame`);
    const len = entryLength(buf.subarray(at, at + HEADER_BYTES));
    if (at + len > buf.length) throw new SiteLogError('malformed', `entry truncated: ${len} bytes announced, ${buf.length - at} in the frame`);
    out.push(buf.subarray(at, at + len));
    at += len;
  }
  if (out.length === 0) throw new ProtocolViolation('an empty entry frame');
  return out;
}
