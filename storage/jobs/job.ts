/**
 * What every job shares. A job is the orchestration of one piece of work (pack volumes, stage files,
 * archive volumes, restore...) as a library function: it takes plain options, an open catalog and
 * the tiers it needs, reports progress through a callback and returns a result object. The CLI
 * (node/commands) parses arguments, calls one job and prints; the node's scheduler calls the same
 * jobs. Jobs never print, never read process.argv or the environment, never exit the process.
 */

/** Progress of a job, for bars, logs and status pages. Every field but `job` and `message` is optional. */
export interface JobProgress {
  /** The job's name, e.g. 'iso create'. */
  job: string;
  /** A line for people ("2024-04-13--2024-04-20.iso: 30% (1.5 GB of 5.0 GB)"), if there is one. */
  message?: string;
  /** 'info' lines are shown by default, 'debug' only with -l 5, 'warn' always. */
  level?: 'debug' | 'info' | 'warn';
  /** The item being worked on (a volume name, a file path). */
  item?: string;
  doneBytes?: number;
  totalBytes?: number;
  doneItems?: number;
  totalItems?: number;
  /** The item (or the job) is finished: a bar can draw its last state. */
  final?: boolean;
  /** The item failed and was skipped; the job goes on with the next one. */
  error?: JobError;
}

export type ProgressFn = (p: JobProgress) => void;

/** A progress callback that drops everything (the default of every job). */
export const noProgress: ProgressFn = () => {};

/**
 * Why a job stopped, in the job's words. The CLI maps `kind` to its documented exit code
 * (node/job-errors.ts); the node's scheduler decides from it whether to retry.
 *  - usage: the request itself is wrong (a flag combination, a plain volume asked to go encrypted)
 *  - input: something named does not exist or cannot be read (a volume name, a library path)
 *  - corrupt: stored data failed verification
 *  - storage: a tier or the local disk failed (full, permissions, unavailable)
 *  - passphrase: the passphrase does not open the site's keys
 *  - network: the family members that hold the data could not be reached (none had a bad copy)
 */
export type JobErrorKind = 'usage' | 'input' | 'corrupt' | 'storage' | 'passphrase' | 'network';

export class JobError extends Error {
  override name = 'JobError';
  constructor(
    message: string,
    readonly kind: JobErrorKind,
    override readonly cause?: unknown,
  ) {
    super(message);
  }
}
