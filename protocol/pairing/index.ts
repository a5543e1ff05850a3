/**
 * The pairing service: `const pairing = pairingService(env)(components)`; `pairing.createInvite()`
 * issues a code, `pairing.join(code)` pairs with its inviter, and the registered handler answers
 * joiners. The code format (code.ts), messages (messages.ts) and proofs (proof.ts) are
 * specified in docs/pairing.md.
 */
import type { ServiceComponents } from '../service.js';
import { Pairing, type PairingEnv } from './pairing.js';

export function pairingService(env: PairingEnv): (components: ServiceComponents) => Pairing {
  return (components) => new Pairing(env, components);
}

export type { Pairing, PairingEnv, InviteRequest } from './pairing.js';
export type { JoinOptions, JoinResult } from './joiner.js';
export type { Member } from './messages.js';
export { PairingError } from './errors.js';
export { decodeInviteCode, InviteCodeError, type InviteCode } from './code.js';
export { MAX_INVITE_MS, PAIR_PROTOCOL } from './constants.js';
