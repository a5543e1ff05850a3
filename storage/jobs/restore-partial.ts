/**
 * A download that survives being killed (`restore aws`): the output is written segment after
 * segment (an encrypted volume's chunks, a plain volume's ranges) into `.<out>.part`, and each
 * segment written is recorded with the SHA-256 of its bytes in `.<out>.part.log`. A rerun re-reads
 * and re-hashes the recorded segments, keeps the verified prefix and fetches only the rest; the
 * whole file's SHA-256 is still checked against the catalog before it is renamed into place.
 *
 * The log's first line names what is restored (object, size, hash): a part left by another volume,
 * or by an older copy of this one, is never reused. Leftovers go when the file is placed, when
 * they cannot be reused, and when the failure is one a rerun would not get past; they stay (and
 * the error says so) when the failure is passing — the network, throttling, credentials, an
 * interrupt — so the rerun resumes.
 */
import { createHash, type Hash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { TierError } from '../tiers/tier.js';
import { formatSize } from '../util/units.js';
import { JobError } from './job.js';
import { checkPlainSha } from './restore-output.js';

const MAGIC = 'lomo-restore-part 1';

export interface Segments {
  /** What is restored (e.g. object id, size and hash): a log that names anything else is discarded. */
  identity: string;
  /** Byte length of each segment of the output, in order. */
  sizes: number[];
  /**
   * Segment `i`'s verified bytes. Called in order, from the first segment not on disk yet; an
   * implementation may read ahead.
   */
  fetch(i: number): Promise<Buffer>;
}

export interface PartialWriteResult {
  sha256: Buffer;
  /** Bytes that were already on disk and verified (0 for a fresh start). */
  resumedBytes: number;
}

export const partPaths = (out: string) => {
  const part = path.join(path.dirname(out), `.${path.basename(out)}.part`);
  return { part, log: `${part}.log` };
};

/** Failures a rerun gets past: the part is kept for it. */
function passing(e: unknown, signal?: AbortSignal): boolean {
  if (signal?.aborted) return true;
  return e instanceof TierError && (e.kind === 'unavailable' || e.kind === 'throttled' || e.kind === 'auth');
}

function readLog(log: string, identity: string, sizes: number[]): { sha: string }[] {
  let text: string;
  try {
    text = fs.readFileSync(log, 'utf8');
  } catch {
    return [];
  }
  const lines = text.split('\n');
  if (lines[0] !== `${MAGIC} ${identity}`) return [];
  const done: { sha: string }[] = [];
  // A line is complete only with its newline: a torn last line (killed mid-append) is dropped.
  for (const line of lines.slice(1, -1)) {
    const m = /^(\d+) (\d+) ([0-9a-f]{64})$/.exec(line);
    if (!m || Number(m[1]) !== done.length || Number(m[2]) !== sizes[done.length]) break;
    done.push({ sha: m[3]! });
  }
  return done;
}

/**
 * The recorded segments whose bytes on disk still hash as recorded (the longest such prefix),
 * fed to `whole` in order. Reads one segment at a time.
 */
function verifyPrefix(fd: number, recorded: { sha: string }[], sizes: number[], whole: Hash): number {
  let offset = 0;
  let k = 0;
  for (; k < recorded.length; k++) {
    const buf = Buffer.allocUnsafe(sizes[k]!);
    if (fs.readSync(fd, buf, 0, buf.length, offset) !== buf.length) break;
    if (createHash('sha256').update(buf).digest('hex') !== recorded[k]!.sha) break;
    whole.update(buf);
    offset += buf.length;
  }
  return k;
}

function writeAll(fd: number, buf: Buffer, offset: number): void {
  for (let done = 0; done < buf.length; ) done += fs.writeSync(fd, buf, done, buf.length - done, offset + done);
}

/**
 * Writes `segs` to `out` (which must not exist), resuming from a verified part when one is there.
 * `expectSha` (every non-null one) must equal the whole output's SHA-256.
 */
export async function resumableWrite(out: string, segs: Segments, expectSha: (Buffer | null | undefined)[], signal?: AbortSignal): Promise<PartialWriteResult> {
  const { part, log } = partPaths(out);
  const whole = createHash('sha256');
  const recorded = readLog(log, segs.identity, segs.sizes);
  const fd = fs.openSync(part, recorded.length ? fs.constants.O_RDWR | fs.constants.O_CREAT : 'w', 0o600);
  let open = true;
  let k = 0;
  let offset = 0;
  const total = segs.sizes.reduce((s, n) => s + n, 0);
  try {
    k = verifyPrefix(fd, recorded, segs.sizes, whole);
    for (let i = 0; i < k; i++) offset += segs.sizes[i]!;
    const resumedBytes = offset;
    fs.ftruncateSync(fd, offset);
    fs.writeFileSync(log, `${MAGIC} ${segs.identity}\n${recorded.slice(0, k).map((r, i) => `${i} ${segs.sizes[i]} ${r.sha}\n`).join('')}`, { mode: 0o600 });
    for (let i = k; i < segs.sizes.length; i++) {
      signal?.throwIfAborted();
      const buf = await segs.fetch(i);
      if (buf.length !== segs.sizes[i]) throw new TierError(`segment ${i} has ${buf.length} bytes, expected ${segs.sizes[i]}`, 'checksum');
      writeAll(fd, buf, offset);
      whole.update(buf);
      // The record follows the bytes: a kill in between loses this segment's record, never lies.
      fs.appendFileSync(log, `${i} ${buf.length} ${createHash('sha256').update(buf).digest('hex')}\n`);
      offset += buf.length;
      k = i + 1;
    }
    const sha = whole.digest();
    for (const want of expectSha) checkPlainSha(sha, want);
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    open = false;
    fs.renameSync(part, out);
    fs.rmSync(log, { force: true });
    return { sha256: sha, resumedBytes };
  } catch (e) {
    if (open) fs.closeSync(fd);
    if (k > 0 && passing(e, signal)) {
      if (signal?.aborted) throw e;
      const kept = `${formatSize(offset)} of ${formatSize(total)} are kept in ${part}: run the same command again to resume`;
      throw new JobError(`${(e as Error).message}; ${kept}`, 'storage', e);
    }
    fs.rmSync(part, { force: true });
    fs.rmSync(log, { force: true });
    throw e;
  }
}
