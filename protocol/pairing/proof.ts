import { createHash, createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';

/**
 * Pairing proofs. The invite secret is 128 random bits, so a PAKE buys nothing over a MAC (PAKEs
 * protect low-entropy passwords from offline guessing; 2^128 cannot be guessed). Each side
 * proves it knows the secret with an HMAC over a transcript that names both Noise-authenticated
 * peer ids and fresh nonces from both sides:
 *   - a relaying man in the middle has its own peer id on one of the two Noise sessions, so the
 *     transcripts differ and a relayed proof never verifies;
 *   - a recorded proof is useless later (fresh nonces; and the invite is single-use);
 *   - the secret itself never crosses the wire, and the HMAC output does not reveal it.
 * See docs/pairing.md for the full threat model.
 */

export const NONCE_BYTES = 32;
export const PROOF_BYTES = 32;
const LABEL = 'lomo-pair-v1';

export interface Transcript {
  inviteId: Uint8Array;
  inviterPeerId: string;
  joinerPeerId: string;
  joinerNonce: Uint8Array;
  inviterNonce: Uint8Array;
}

function pairingKey(secret: Uint8Array, inviteId: Uint8Array): Buffer {
  return Buffer.from(hkdfSync('sha256', secret, Buffer.from(LABEL), inviteId, 32));
}

function transcriptHash(t: Transcript): Buffer {
  const h = createHash('sha256');
  const field = (b: Uint8Array) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(b.length);
    h.update(len).update(b);
  };
  field(Buffer.from(LABEL));
  field(t.inviteId);
  field(Buffer.from(t.inviterPeerId, 'utf8'));
  field(Buffer.from(t.joinerPeerId, 'utf8'));
  field(t.joinerNonce);
  field(t.inviterNonce);
  return h.digest();
}

export type Role = 'joiner' | 'inviter';

export function makeProof(secret: Uint8Array, role: Role, t: Transcript): Uint8Array {
  return new Uint8Array(createHmac('sha256', pairingKey(secret, t.inviteId)).update(role).update(transcriptHash(t)).digest());
}

export function checkProof(secret: Uint8Array, role: Role, t: Transcript, proof: Uint8Array): boolean {
  const want = makeProof(secret, role, t);
  return proof.length === want.length && timingSafeEqual(want, proof);
}
