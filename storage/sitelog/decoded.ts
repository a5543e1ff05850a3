import { decodeBody, type Body } from './body.js';
import type { SiteLogEntry } from './entry.js';

/**
 * An entry's decoded body, decoded once: verification (chain.ts), storage (store.ts) and the
 * derived tables (derive.ts) all read it, and a 10,000-chunk object body is worth not decoding
 * four times. Kept on the entry object itself (a hidden, non-enumerable property), so it dies with
 * the entry. Not in a WeakMap: V8 keeps a WeakMap's values through young-generation collections,
 * so every body of a 100,000-entry sync was promoted to the old generation (85 of the 113 MB that
 * a log sync receiver promoted) and waited there for a full collection.
 */
const BODY = Symbol('decoded body');

export function bodyOf(e: SiteLogEntry): Body {
  const held = (e as { [BODY]?: Body })[BODY];
  if (held) return held;
  const b = decodeBody(e.kind, e.body);
  if (Object.isExtensible(e)) Object.defineProperty(e, BODY, { value: b, enumerable: false });
  return b;
}
