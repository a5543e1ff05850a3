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
