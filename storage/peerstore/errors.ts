/**
 * Why the peer store refused or could not serve a chunk. The reason travels back to the sender
 * (issue 15, point 2), which plans elsewhere on `quota` and `disk-full`, re-sends on
 * `hash-mismatch` / `size-mismatch`, and re-replicates from another holder on `corrupt`.
 */
export type PeerStoreReason =
  | 'quota' // the owner's agreed quota would be exceeded
  | 'disk-full' // the file system has no room (ENOSPC, EDQUOT)
  | 'hash-mismatch' // the bytes sent do not hash to the SHA-256 they were sent under
  | 'size-mismatch' // more or fewer bytes arrived than announced
  | 'corrupt' // a stored chunk no longer matches its hash: not served, quarantined
  | 'not-found' // no such chunk is held for this owner
  | 'invalid'; // a malformed owner id, hash or range

export class PeerStoreError extends Error {
  override name = 'PeerStoreError';
  constructor(
    readonly reason: PeerStoreReason,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** errno codes that mean "no room", whether the disk or a file system quota ran out. */
export function isNoSpace(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ENOSPC' || code === 'EDQUOT';
}
