import { decodeJsonObject, encodeJson, ProtocolViolation } from '../framing.js';
import { arr, b64, bytes, kind, multiaddrList, object, optUint, peerIdField, str } from '../fields.js';
import { INVITE_ID_BYTES } from './code.js';
import { NONCE_BYTES, PROOF_BYTES } from './proof.js';
import { MAX_ADDR_LEN, MAX_ADDRS, MAX_ERROR_MESSAGE, MAX_MEMBERS, MAX_NAME, MAX_PEER_ID } from './constants.js';

/**
 * Messages of /lomo/pair/1.0.0, one JSON object per frame:
 *   joiner  -> inviter  hello     {invite, nonce}
 *   inviter -> joiner   challenge {nonce}                         | error
 *   joiner  -> inviter  prove     {proof, site}
 *   inviter -> joiner   welcome   {proof, site, members}          | error
 *   joiner  -> inviter  ack       {}
 * decodePairMessage() accepts exactly these shapes and nothing else.
 */

export { MAX_PAIR_FRAME, MAX_NAME, MAX_ADDRS, MAX_ADDR_LEN, MAX_MEMBERS, MAX_PEER_ID, MAX_ERROR_MESSAGE } from './constants.js';

export interface SiteInfo {
  name: string;
  addrs: string[];
  /** Bytes the sender offers to store for the receiver; null: not set. */
  quota: number | null;
}

export interface Member {
  peerId: string;
  name: string;
  addrs: string[];
  /**
   * The site that originally introduced this member to the family (the sender itself when it
   * paired with it directly). Absent from older senders: the receiver then takes the sender.
   */
  introducedBy?: string;
}

export type PairErrorCode = 'unknown-invite' | 'used' | 'expired' | 'wrong-proof' | 'busy' | 'bad-request';

export type PairMessage =
  | { t: 'hello'; invite: Uint8Array; nonce: Uint8Array }
  | { t: 'challenge'; nonce: Uint8Array }
  | { t: 'prove'; proof: Uint8Array; site: SiteInfo }
  | { t: 'welcome'; proof: Uint8Array; site: SiteInfo; members: Member[] }
  | { t: 'ack' }
  | { t: 'error'; code: PairErrorCode; message: string };

const ERROR_CODES: readonly PairErrorCode[] = ['unknown-invite', 'used', 'expired', 'wrong-proof', 'busy', 'bad-request'];

export function encodePairMessage(m: PairMessage): Uint8Array {
  switch (m.t) {
    case 'hello':
      return encodeJson({ t: m.t, invite: b64(m.invite), nonce: b64(m.nonce) });
    case 'challenge':
      return encodeJson({ t: m.t, nonce: b64(m.nonce) });
    case 'prove':
      return encodeJson({ t: m.t, proof: b64(m.proof), site: m.site });
    case 'welcome':
      return encodeJson({ t: m.t, proof: b64(m.proof), site: m.site, members: m.members });
    case 'ack':
      return encodeJson({ t: m.t });
    case 'error':
      return encodeJson({ t: m.t, code: m.code, message: m.message });
  }
}

export function decodeSiteInfo(v: unknown): SiteInfo {
  const o = object(v, 'site');
  return { name: str(o, 'name', MAX_NAME), addrs: multiaddrList(o, 'addrs', MAX_ADDRS, MAX_ADDR_LEN), quota: optUint(o, 'quota') };
}

/**
 * A member entry: the peer id must be an Ed25519 peer id and every address a multiaddr, or the
 * whole message is refused (a value stored once would break every later dial, status and sweep).
 */
export function decodeMember(v: unknown): Member {
  const o = object(v, 'member');
  const m: Member = { peerId: peerIdField(o, 'peerId', MAX_PEER_ID), name: str(o, 'name', MAX_NAME), addrs: multiaddrList(o, 'addrs', MAX_ADDRS, MAX_ADDR_LEN) };
  if (o.introducedBy !== undefined && o.introducedBy !== null) m.introducedBy = peerIdField(o, 'introducedBy', MAX_PEER_ID);
  return m;
}

export function decodePairMessage(frame: Uint8Array): PairMessage {
  const o = decodeJsonObject(frame);
  const t = kind(o);
  switch (t) {
    case 'hello':
      return { t, invite: bytes(o, 'invite', INVITE_ID_BYTES), nonce: bytes(o, 'nonce', NONCE_BYTES) };
    case 'challenge':
      return { t, nonce: bytes(o, 'nonce', NONCE_BYTES) };
    case 'prove':
      return { t, proof: bytes(o, 'proof', PROOF_BYTES), site: decodeSiteInfo(o.site) };
    case 'welcome':
      return {
        t,
        proof: bytes(o, 'proof', PROOF_BYTES),
        site: decodeSiteInfo(o.site),
        members: arr(o, 'members', MAX_MEMBERS).map(decodeMember),
      };
    case 'ack':
      return { t };
    case 'error': {
      const code = str(o, 'code', 32) as PairErrorCode;
      if (!ERROR_CODES.includes(code)) throw new ProtocolViolation(`unknown error code ${JSON.stringify(code)}`);
      return { t, code, message: str(o, 'message', MAX_ERROR_MESSAGE) };
    }
    default:
      throw new ProtocolViolation(`unknown pairing message type ${JSON.stringify(t)}`);
  }
}

/** Decodes and insists on one type (an error message passes through for the caller to report). */
export function expectPair<T extends PairMessage['t']>(frame: Uint8Array, t: T): Extract<PairMessage, { t: T }> | Extract<PairMessage, { t: 'error' }> {
  const m = decodePairMessage(frame);
  if (m.t !== t && m.t !== 'error') throw new ProtocolViolation(`expected ${t}, got ${m.t}`);
  return m as Extract<PairMessage, { t: T }> | Extract<PairMessage, { t: 'error' }>;
}
