/**
 * Restoring what lomob archived, after `import lomob` (docs/lomob.md §6): a volume lomob sent to
 * S3 (`restore aws`) and a file lomob staged on Drive (`restore gdrive`). Such copies have no
 * lomo-peer object or placement; they are found where lomob put them (storage/lomob/archives.ts)
 * and decrypted with lomob's master key (storage/lomob/crypto.ts), then checked against the
 * catalog's size and SHA-256 before they are placed. Output is atomic, as for our own copies.
 */
import { createHash } from 'node:crypto';
import path from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Db } from '../catalog/db.js';
import { lomobDriveKey, lomobFiles, lomobVolumeKey, type LomobFile, type LomobVolume } from '../lomob/archives.js';
import { LomobCryptoError, LomobDecipher } from '../lomob/crypto.js';
import { stagedCopies } from '../placements/staged-copies.js';
import type { ObjectStat, Tier } from '../tiers/tier.js';
import { JobError, noProgress, type ProgressFn } from './job.js';
import type { RestoreArchivedOptions, RestoreArchivedResult } from './restore-archived.js';
import { atomicWrite, checkOutput } from './restore-output.js';
import type { RestoreStagedOptions, RestoreStagedResult } from './restore-staged.js';

export type LomobKey = () => Promise<string>;

/**
 * lomob's decryption failures in the jobs' words: the format cannot tell a wrong key from damage
 * (docs/lomob.md §1), so that case is 'passphrase' (the likely cause when moving in) and says both.
 */
export function lomobJobError(e: unknown): unknown {
  if (!(e instanceof LomobCryptoError)) return e;
  if (e.kind === 'wrong-key-or-damaged') return new JobError(`${e.message}; with a new lomo-peer passphrase, give lomob's old key with --lomob-key-file`, 'passphrase', e);
  return new JobError(e.message, e.kind === 'too-short' ? 'input' : 'corrupt', e);
}

/** Copies `src` through lomob's decipher into `w`; resolves to the verified plaintext size and SHA-256. */
export async function decryptLomobInto(src: Readable, w: Writable, masterKey: string, label: string): Promise<{ size: number; sha256: Buffer }> {
  const dec = new LomobDecipher(masterKey, {}, label);
  await pipeline(src, dec, async (plain: AsyncIterable<Buffer>) => {
    for await (const c of plain) if (!w.write(c)) await new Promise<void>((r) => w.once('drain', () => r()));
  });
  return dec.result!;
}

/**
 * Waits until every write handed to `w` reached the file. atomicWrite (restore-output.ts) destroys
 * the stream and closes its descriptor when `produce` throws; a write still queued then fails on
 * the closed descriptor as an unhandled 'error' (EBADF, exit 1). So settle the writes first.
 */
const flushed = (w: Writable) => new Promise<void>((resolve, reject) => w.write(Buffer.alloc(0), (e) => (e ? reject(e) : resolve())));

/** `produce` for atomicWrite whose failures leave no write queued (see flushed). */
const settled =
  (produce: (w: Writable) => Promise<Buffer>) =>
  async (w: Writable): Promise<Buffer> => {
    try {
      return await produce(w);
    } catch (e) {
      await flushed(w).catch(() => {});
      throw e;
    }
  };

/** Not what the catalog recorded, although lomob's own check passed: say so (docs/lomob.md §4). */
function notRecorded(what: string, got: { size: number; sha256: Buffer }, want: { size: number; sha256: Buffer | null }): JobError | null {
  if (want.sha256 ? got.sha256.equals(want.sha256) : got.size === want.size) return null;
  return new JobError(
    `${what} decrypts correctly with lomob's key but is not what the catalog recorded: ${got.size} bytes, SHA-256 ${got.sha256.toString('hex')}; ` +
      `the catalog has ${want.size} bytes${want.sha256 ? `, ${want.sha256.toString('hex')}` : ''} (lomob can overwrite a volume's image: docs/lomob.md §4); nothing was written`,
    'corrupt',
  );
}

/** A lomob copy's stat, waiting for or requesting a Glacier restore as `restore aws` does; null: not readable yet. */
async function readable(tier: Tier, key: string, st: ObjectStat, opts: Pick<RestoreArchivedOptions, 'retrieval' | 'days' | 'wait' | 'pollSeconds' | 'signal'>, info: (m: string) => void): Promise<'ready' | 'needs-restore' | 'restore-pending'> {
  if (!tier.requestRestore || !st.restore?.needed) return 'ready';
  if (!st.restore.ongoing) {
    if (!opts.retrieval) return 'needs-restore';
    await tier.requestRestore(key, { days: opts.days, tier: opts.retrieval });
    info(`restore requested (${opts.retrieval}, readable for ${opts.days} days)`);
  }
  for (;;) {
    const now = await tier.head(key);
    if (now && !now.restore?.needed) return 'ready';
    if (!opts.wait) return 'restore-pending';
    info(`${key}: restore in progress; checking again in ${opts.pollSeconds} s`);
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(resolve, opts.pollSeconds * 1000);
      opts.signal?.addEventListener('abort', () => (clearTimeout(t), reject(opts.signal!.reason)), { once: true });
    });
  }
}

const readAll = (tier: Tier, key: string, size: number, concurrency: number): Promise<Readable> =>
  tier.getParallel ? Promise.resolve(tier.getParallel(key, size, { concurrency })) : tier.get(key);

/** lomob's object of `vol` in the tier, or a JobError naming where lomob would have put it. */
async function lomobObject(tier: Tier, vol: LomobVolume): Promise<{ key: string; st: ObjectStat }> {
  const key = lomobVolumeKey(vol);
  const st = await tier.head(key);
  if (!st) {
    const hint = vol.bucket && tier.bucket !== vol.bucket ? ` (lomob recorded bucket ${vol.bucket}: pass --awsBucketName ${vol.bucket})` : '';
    throw new JobError(`${vol.name} is a lomob volume, but ${tier.url} has no object ${key}, where lomob uploads it${hint}`, 'input');
  }
  return { key, st };
}

/**
 * Writes the plain image of a lomob volume to `out` (atomic; `out` must not exist): decrypted with
 * lomob's key, or copied as it is when lomob uploaded it with --no-encrypt (object size = image size).
 */
export async function fetchLomobVolume(tier: Tier, vol: LomobVolume, out: string, masterKey: LomobKey, concurrency: number, found?: { key: string; st: ObjectStat }): Promise<{ size: number; sha256: Buffer }> {
  const { key, st } = found ?? (await lomobObject(tier, vol));
  if (st.restore?.needed) throw new JobError(`${vol.name} is in ${st.storageClass ?? 'cold storage'}: request its restore first (restore aws ${vol.name} <out> --tier Bulk)`, 'input');
  const plain = vol.size > 0 && st.size === vol.size;
  const label = `${tier.url}/${key}`;
  let got: { size: number; sha256: Buffer } = { size: 0, sha256: Buffer.alloc(0) };
  await atomicWrite(out, settled(async (w) => {
    const src = await readAll(tier, key, st.size, concurrency);
    if (plain) {
      const h = createHash('sha256');
      let size = 0;
      for await (const c of src) {
        h.update(c as Buffer);
        size += (c as Buffer).length;
        if (!w.write(c)) await new Promise<void>((r) => w.once('drain', () => r()));
      }
      got = { size, sha256: h.digest() };
    } else {
      got = await decryptLomobInto(src, w, await masterKey(), label);
    }
    const err = notRecorded(label, got, vol);
    if (err) throw err;
    return got.sha256;
  }));
  return got;
}

/** `restore aws <volume> <out>` for a volume lomob uploaded (see lomobVolume). */
export async function restoreLomobArchived(db: Db, tier: Tier, vol: LomobVolume, opts: RestoreArchivedOptions, masterKey: LomobKey, onProgress: ProgressFn = noProgress): Promise<RestoreArchivedResult> {
  const out = checkOutput(opts.out);
  const info = (message: string) => onProgress({ job: 'restore aws', level: 'info', item: vol.name, message });
  const found = await lomobObject(tier, vol);
  const state = await readable(tier, found.key, found.st, opts, info);
  if (state === 'needs-restore') return { status: 'needs-restore', volume: vol.name, storageClass: found.st.storageClass ?? 'DEEP_ARCHIVE' };
  if (state === 'restore-pending') return { status: 'restore-pending', volume: vol.name };
  const st = (await tier.head(found.key)) ?? found.st;
  const r = await fetchLomobVolume(tier, vol, out, masterKey, opts.concurrency, { key: found.key, st });
  return { status: 'restored', volume: vol.name, size: r.size, sha256: r.sha256, requests: tier.requestCount?.(), resumedBytes: 0 };
}

/** True when `file` names a copy lomo-peer itself staged on this tier (then restoreStaged applies). */
export function hasOwnStagedCopy(db: Db, tierUrl: string, file: string): boolean {
  const want = Buffer.from(file).toString('latin1');
  return stagedCopies(db, tierUrl).some((c) => c.path === want || c.path === path.resolve(file) || c.placement.key === file);
}

/** The catalog's file for a library path, or for lomob's Drive path of it (`home_alice_Pictures/2021/a.jpg`). */
function catalogFile(db: Db, file: string): LomobFile | null {
  const byPath = lomobFiles(db, Buffer.from(path.resolve(file))).find((f) => f.libraryPath.equals(Buffer.from(path.resolve(file))));
  if (byPath) return byPath;
  for (const root of db.prepare('SELECT path FROM scan_roots').pluck().all() as Buffer[]) {
    const all = lomobFiles(db, root.length > 1 && root.at(-1) === 0x2f ? root.subarray(0, -1) : root);
    const hit = all.find((f) => lomobDriveKey(f) === file.replace(/^\/+/, ''));
    if (hit) return hit;
  }
  return null;
}

/**
 * `restore gdrive <file> <out>` for a file lomob staged on Drive: found under lomob's layout (by
 * library path, or by lomob's own Drive path), decrypted with lomob's key and checked against the
 * catalog. A Drive path the catalog does not know is still restored, checked by lomob's IV only.
 */
export async function restoreLomobStaged(db: Db, tier: Tier, opts: RestoreStagedOptions, masterKey: LomobKey): Promise<RestoreStagedResult> {
  const out = checkOutput(opts.out);
  const f = catalogFile(db, opts.file);
  const key = f ? lomobDriveKey(f) : opts.file.replace(/^\/+/, '');
  const st = await tier.head(key);
  if (!st) throw new JobError(`${opts.file} has no copy on ${tier.url}${f ? ` (neither lomo-peer's nor lomob's, which would be ${key})` : ''}: see lomo-peer list gdrive`, 'input');
  const label = `${tier.url}/${key}`;
  let got: { size: number; sha256: Buffer } = { size: 0, sha256: Buffer.alloc(0) };
  await atomicWrite(out, settled(async (w) => {
    const src = st.id && tier.getById ? await tier.getById(st.id) : await tier.get(key);
    got = await decryptLomobInto(src, w, await masterKey(), label);
    const err = f ? notRecorded(label, got, { size: f.size, sha256: f.sha256 }) : null;
    if (err) throw err;
    return got.sha256;
  }));
  return { path: f ? f.libraryPath.toString('latin1') : key, plainSize: got.size };
}

