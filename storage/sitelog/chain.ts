import { bodyOf } from './decoded.js';
import { ZERO_HASH, kindName, type SiteLogEntry, KIND } from './entry.js';
import { SiteLogError } from './errors.js';
import { verifySignature } from './sign.js';
import { siteIdOfKey } from './site-id.js';

/**
 * What a verifier must know about one site's log to check its next entry: the head (seq and
 * hash), which key signs it now (the origin's own key until a succession names another), the
 * recovery key of its latest site record, and where a revocation cut it off. Hypercore's rule:
 * verify before storing, and the log is the truth.
 */
export interface LogState {
  origin: Buffer;
  originId: string;
  seq: number;
  hash: Buffer;
  signer: Buffer;
  recoveryKey: Buffer | null;
  /** Entries after this seq are refused (a member revoked the site); null: not revoked. */
  revokedAfter: number | null;
}

/**
 * How verifyNext checks a signature: verifySignature, or one that first consults checks already
 * made elsewhere (the log sync receiver has batches checked on a second thread while it stores
 * earlier ones: signature-thread.ts) and falls back to verifySignature for anything else.
 */
export type SignatureCheck = (entry: SiteLogEntry, publicKey: Buffer) => boolean;

export function emptyLog(origin: Buffer, revokedAfter: number | null = null): LogState {
  return { origin, originId: siteIdOfKey(origin), seq: 0, hash: ZERO_HASH, signer: origin, recoveryKey: null, revokedAfter };
}

/** The key that must sign `entry` given the log before it. */
export function expectedSigner(state: LogState, entry: SiteLogEntry): Buffer {
  if (entry.kind !== KIND.succession) return state.signer;
  if (!state.recoveryKey) throw new SiteLogError('rule', 'a succession needs a recovery key from an earlier site record', state.originId, entry.seq);
  return state.recoveryKey;
}

/**
 * Checks that `entry` is the next entry of the log in `state` — same origin, seq + 1, prev = head
 * hash, not after a revocation, signed by the right key, a well-formed body for a known kind —
 * and returns the state after it. Throws SiteLogError naming the origin otherwise.
 */
export function verifyNext(state: LogState, entry: SiteLogEntry, checkSignature: SignatureCheck = verifySignature): LogState {
  const at = (code: SiteLogError['code'], why: string) => new SiteLogError(code, why, state.originId, entry.seq);
  if (!entry.origin.equals(state.origin)) throw new SiteLogError('chain', `entry ${entry.seq} of ${entry.originId} offered as an entry of ${state.originId}`, state.originId, entry.seq);
  if (entry.seq !== state.seq + 1) {
    throw at('chain', entry.seq <= state.seq ? `entry ${entry.seq} again after entry ${state.seq} (replayed or reordered)` : `gap: entry ${entry.seq} follows entry ${state.seq}`);
  }
  if (!entry.prev.equals(state.hash)) throw at('chain', 'previous hash does not match the head (broken chain)');
  if (state.revokedAfter !== null && entry.seq > state.revokedAfter) {
    throw at('revoked', `signed after the site was revoked (entries after ${state.revokedAfter} are refused)`);
  }
  if (!checkSignature(entry, expectedSigner(state, entry))) throw at('signature', `bad signature on a ${kindName(entry.kind)} entry (forged or damaged)`);
  const body = bodyOf(entry);
  const next: LogState = { ...state, seq: entry.seq, hash: entry.hash };
  if (body.kind === 'siteRecord') next.recoveryKey = body.body.recoveryPublicKey;
  if (body.kind === 'succession') next.signer = body.body.newKey;
  return next;
}

/** verifyNext over a run of entries; nothing is kept if any fails. */
export function verifyChain(state: LogState, entries: Iterable<SiteLogEntry>): LogState {
  let s = state;
  for (const e of entries) s = verifyNext(s, e);
  return s;
}

/**
 * A second, validly signed entry for a position already taken: the origin signed two histories
 * (a cloned machine, a recovered site whose old one was not dead, or malice). `before` is the
 * log's state just before `seq`. Returns true when `entry` is a fork (kept as evidence); throws
 * when it is merely forged (a bad signature proves nothing against the origin).
 */
export function isFork(before: LogState, stored: SiteLogEntry, entry: SiteLogEntry): boolean {
  if (stored.hash.equals(entry.hash)) return false;
  if (!verifySignature(entry, expectedSigner(before, entry))) {
    throw new SiteLogError('signature', `bad signature on a second entry ${entry.seq} (forged or damaged)`, before.originId, entry.seq);
  }
  return true;
}
