/**
 * Process exit codes, the same for every command. Scripts can rely on them; `lomo-peer --help`
 * prints this table.
 */
export const EXIT = {
  OK: 0,
  /** A bug or an unexpected failure; the message says what. */
  INTERNAL: 1,
  /** Wrong flags or arguments. */
  USAGE: 2,
  /** An input path is missing, not a folder, or unreadable; nothing was done for it. */
  INPUT: 3,
  /** The command finished, but some items were skipped (each was reported). Re-run later. */
  PARTIAL: 4,
  /** The catalog cannot be used: newer schema, corrupt, locked, or missing. */
  CATALOG: 5,
  /** Wrong passphrase / master key. */
  WRONG_PASSPHRASE: 6,
  /** Stored data failed verification (tampered, truncated or corrupt). */
  CORRUPT: 7,
  /** A peer or the network failed (unreachable, refused, untrusted, malformed invite). */
  NETWORK: 8,
  /** A cloud tier failed (credentials, quota, permissions, unavailable). */
  CLOUD: 9,
  /** Same code: any storage failed — a cloud tier, the object folder, or a full disk. */
  STORAGE: 9,
  /** Interrupted by SIGINT/SIGTERM; completed work is kept and a re-run resumes. */
  INTERRUPTED: 130,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

export const EXIT_HELP = `Exit codes:
  0  success
  1  internal error (a bug; please report it with the message)
  2  usage error (wrong flags or arguments)
  3  input error (a path is missing, not a folder, or unreadable)
  4  finished with some items skipped (each one is reported; re-run later)
  5  catalog error (newer schema, corrupt, locked or missing catalog)
  6  wrong passphrase
  7  stored data failed verification (tampered, truncated or corrupt)
  8  network or peer error
  9  storage error: a cloud tier, the object folder or a full disk (credentials, quota, space, permissions)
  130 interrupted (completed work is kept; re-run to resume)`;

/** An error that knows which exit code it maps to and carries a message meant for the user. */
export class UserError extends Error {
  override name = 'UserError';
  constructor(
    message: string,
    readonly exitCode: ExitCode = EXIT.INPUT,
  ) {
    super(message);
  }
}

let reported: number = EXIT.OK;

/** A command that finishes with a non-zero status (e.g. PARTIAL) reports it here; the worst wins. */
export function reportExit(code: number): void {
  if (code > reported) reported = code;
}

export function commandExitCode(): number {
  return reported;
}
