import type { PairErrorCode } from './messages.js';

/** The pairing was refused or failed; `code` says why (maps to a user message and exit code). */
export class PairingError extends Error {
  override name = 'PairingError';
  constructor(
    readonly code: PairErrorCode | 'impostor' | 'protocol' | 'refused',
    message: string,
  ) {
    super(message);
  }
}

export function looksClosed(err: Error): boolean {
  const text = `${err.name} ${err.message}`;
  return /EOF|closed|reset|MuxerClosed|EncryptionFailed|StreamState/i.test(text) && !/ECONNREFUSED|EHOSTUNREACH|ENETUNREACH|timed? ?out|abort/i.test(text);
}

/**
 * The inviter's gater closes connections from unknown peers when it has no open invite, so a
 * joiner sees the connection end right after the handshake (an EOF, never a "denied" message).
 */
export function closedByInviter(): PairingError {
  return new PairingError(
    'refused',
    'the inviting site closed the connection: it has no open invitation for this code (already used or expired), or this site was revoked there; ask for a new code',
  );
}
