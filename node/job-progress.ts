import type { JobProgress, ProgressFn } from '../storage/jobs/job.js';
import { log } from './log.js';
import { ProgressBar } from './progress.js';

/**
 * A job's progress as the CLI shows it: lines with a message go to the log at their level (a failed
 * item's error as an ERROR line), byte counts drive the TTY progress bar labelled `label`. The bar
 * is cleared before every log line, so lines never land in the middle of it.
 */
export function progressPrinter(bar: ProgressBar, label: string): ProgressFn {
  return (p: JobProgress) => {
    if (p.error || p.message !== undefined) {
      bar.done();
      logProgress(p);
      return;
    }
    if (p.doneBytes === undefined) return;
    bar.update({ label, doneBytes: p.doneBytes, totalBytes: p.totalBytes ?? 0, doneItems: p.doneItems ?? 0, totalItems: p.totalItems ?? 0 }, p.final);
  };
}

/** A job's progress lines without a bar: logged at their level (a failed item's error as ERROR); silent ones are skipped. */
export function logProgress(p: JobProgress): void {
  if (p.error) log.error(p.error.message);
  else if (p.message !== undefined) log[p.level ?? 'info'](p.message);
}
