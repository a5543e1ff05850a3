/** What the restore jobs share: the target folder, and their failures in the job's words. */
import fs from 'node:fs';
import { ChunkUnavailableError } from '../objects/chunk-sources.js';
import { ChunkError } from '../objects/reader.js';
import { PlaintextMismatchError, UnsafePathError } from '../objects/restore.js';
import { TierError } from '../tiers/tier.js';
import { JobError } from './job.js';

/** Creates the target folder if needed; returns a cleanup that removes it again if this run left it empty. */
export function prepareTarget(to: string): () => void {
  const existed = fs.existsSync(to);
  if (existed && !fs.statSync(to).isDirectory()) throw new JobError(`--to ${to} is not a folder`, 'usage');
  fs.mkdirSync(to, { recursive: true });
  return () => {
    if (!existed && fs.readdirSync(to).length === 0) fs.rmdirSync(to);
  };
}

/**
 * A storage failure while restoring `what`, as a JobError naming object and chunk; null for
 * anything else (a bug, which the caller lets through).
 */
export function restoreError(e: unknown, what: string): JobError | null {
  if (e instanceof JobError) return e;
  // No copy anywhere, and the holders that might have one did not answer: a network failure, not damage.
  if (e instanceof ChunkUnavailableError && e.unreachable && !e.sawBadCopy) return new JobError(`${what}: ${e.message}; nothing was written for it`, 'network', e);
  if (e instanceof ChunkError || e instanceof PlaintextMismatchError) return new JobError(`${what}: ${e.message}; nothing was written for it`, 'corrupt', e);
  if (e instanceof UnsafePathError) return new JobError(`${what}: ${e.message}`, 'corrupt', e);
  if (e instanceof TierError) return new JobError(`${what}: ${e.message}`, e.kind === 'not-found' ? 'corrupt' : 'input', e);
  return null;
}
