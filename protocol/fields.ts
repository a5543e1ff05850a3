import { peerIdFromString } from '@libp2p/peer-id';
import { multiaddr } from '@multiformats/multiaddr';
import { ProtocolViolation } from './framing.js';

/**
 * Strict field readers for decoded JSON messages. A peer is untrusted input: every field is
 * checked for type and size, and anything unexpected is a ProtocolViolation (stream reset).
 */

export function str(obj: Record<string, unknown>, key: string, maxLen: number): string {
  const v = obj[key];
  if (typeof v !== 'string') throw new ProtocolViolation(`field ${key} must be a string`);
  if (v.length > maxLen) throw new ProtocolViolation(`field ${key} longer than ${maxLen}`);
  return v;
}

/** A non-negative safe integer, or null when absent/null. */
export function optUint(obj: Record<string, unknown>, key: string): number | null {
  const v = obj[key];
  if (v === undefined || v === null) return null;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) {
    throw new ProtocolViolation(`field ${key} must be a non-negative integer`);
  }
  return v;
}

/** Base64 bytes of an exact length. */
export function bytes(obj: Record<string, unknown>, key: string, len: number): Uint8Array {
  const s = str(obj, key, Math.ceil(len / 3) * 4 + 4);
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(s)) throw new ProtocolViolation(`field ${key} is not base64`);
  const b = Buffer.from(s, 'base64');
  if (b.length !== len) throw new ProtocolViolation(`field ${key} must be ${len} bytes`);
  return new Uint8Array(b);
}

export function b64(b: Uint8Array): string {
  return Buffer.from(b).toString('base64');
}

export function arr(obj: Record<string, unknown>, key: string, maxItems: number): unknown[] {
  const v = obj[key];
  if (!Array.isArray(v)) throw new ProtocolViolation(`field ${key} must be a list`);
  if (v.length > maxItems) throw new ProtocolViolation(`field ${key} has more than ${maxItems} items`);
  return v;
}

export function object(v: unknown, what: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new ProtocolViolation(`${what} must be an object`);
  return v as Record<string, unknown>;
}

/** A list of short strings (multiaddrs, names). */
export function strList(obj: Record<string, unknown>, key: string, maxItems: number, maxLen: number): string[] {
  return arr(obj, key, maxItems).map((v, i) => {
    if (typeof v !== 'string' || v.length > maxLen) throw new ProtocolViolation(`${key}[${i}] must be a string of at most ${maxLen}`);
    return v;
  });
}

/** Message type tag. */
export function kind(obj: Record<string, unknown>): string {
  return str(obj, 't', 32);
}

/**
 * True for the canonical text of an Ed25519 peer id (the only key type lomo-peer sites use).
 * Anything stored from a peer's message must parse again later in every code path (dials,
 * status, revocation), so it is parsed here, once, at the border.
 */
export function isPeerIdText(s: string): boolean {
  try {
    const id = peerIdFromString(s);
    return id.type === 'Ed25519' && id.toString() === s;
  } catch {
    return false;
  }
}

/** True for a multiaddr in text form that parses (and prints back the same way). */
export function isMultiaddrText(s: string): boolean {
  try {
    return multiaddr(s).toString() === s;
  } catch {
    return false;
  }
}

/** A peer id field: an Ed25519 peer id in canonical base58btc text. */
export function peerIdField(obj: Record<string, unknown>, key: string, maxLen: number): string {
  const v = str(obj, key, maxLen);
  if (!isPeerIdText(v)) throw new ProtocolViolation(`field ${key} is not an Ed25519 peer id`);
  return v;
}

/** A list of multiaddrs in text form, each parsed; at most maxItems of at most maxLen characters. */
export function multiaddrList(obj: Record<string, unknown>, key: string, maxItems: number, maxLen: number): string[] {
  const list = strList(obj, key, maxItems, maxLen);
  list.forEach((a, i) => {
    if (!isMultiaddrText(a)) throw new ProtocolViolation(`${key}[${i}] is not a multiaddr`);
  });
  return list;
}
