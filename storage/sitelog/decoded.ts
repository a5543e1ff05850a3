import { decodeBody, type Body } from './body.js';
import type { SiteLogEntry } from './entry.js';

/**
 * An entry's decoded body, decoded once: verification (chain.ts), storage (store.ts) and the
 * derived tables (derive.ts) all read it, and a 10,000-chunk object body is worth not decoding
 * four times. Kept beside the entry object only as long as the entry lives.
 */
const bodies = new WeakMap<SiteLogEntry, Body>();

export function bodyOf(e: SiteLogEntry): Body {
  let b = bodies.get(e);
  if (!b) bodies.set(e, (b = decodeBody(e.kind, e.body)));
  return b;
}
