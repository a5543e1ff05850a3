import { JobError } from '../storage/jobs/job.js';
import { EXIT, UserError, type ExitCode } from './exit-codes.js';

const EXIT_OF: Record<JobError['kind'], ExitCode> = {
  usage: EXIT.USAGE,
  input: EXIT.INPUT,
  corrupt: EXIT.CORRUPT,
  storage: EXIT.STORAGE,
  passphrase: EXIT.WRONG_PASSPHRASE,
  network: EXIT.NETWORK,
};

/** The documented exit code of a job's error. */
export function exitCodeOf(e: JobError): ExitCode {
  return EXIT_OF[e.kind];
}

/** A job's error as the CLI reports it: the same message, the documented exit code. Others pass through. */
export function userErrorOf(e: unknown): unknown {
  if (e instanceof JobError) return new UserError(e.message, exitCodeOf(e));
  return e;
}
