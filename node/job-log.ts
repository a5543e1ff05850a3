import type { JobProgress } from '../storage/jobs/job.js';
import { log } from './log.js';

/** A job's progress lines, logged at their level (stderr; silent ones, without a message, are skipped). */
export function logProgress(p: JobProgress): void {
  if (p.message === undefined) return;
  if (p.level === 'warn') log.warn(p.message);
  else if (p.level === 'debug') log.debug(p.message);
  else log.info(p.message);
}
