/**
 * The one error every site log check throws. `code` says which rule was broken (tests and the log
 * sync protocol branch on it); `origin` names the site whose entry broke it (the offender the
 * protocol names in its warning), when the entry got far enough to have one.
 */
export type SiteLogErrorCode =
  | 'malformed' // bytes that are not an entry (or a body) of this format
  | 'oversized' // more than MAX_ENTRY_BYTES, refused before anything is read
  | 'signature' // the signature does not verify with the key the chain says must sign
  | 'chain' // wrong previous hash, a sequence gap, a different origin than the log's
  | 'revoked' // signed by a site after its revocation
  | 'fork' // two different entries with the same origin and sequence
  | 'rule'; // a body that breaks a kind's rule (e.g. a succession without a recovery key)

export class SiteLogError extends Error {
  override name = 'SiteLogError';
  constructor(
    readonly code: SiteLogErrorCode,
    message: string,
    /** The site id of the log whose entry was refused, when known. */
    readonly origin: string | null = null,
    readonly seq: number | null = null,
  ) {
    super(origin ? `site log of ${origin}${seq !== null ? ` entry ${seq}` : ''}: ${message}` : message);
  }
}
