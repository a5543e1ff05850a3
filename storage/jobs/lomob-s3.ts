/**
 * lomob's S3 `util` tools as jobs (cmd/lomob/upload-iso.go, upload-files.go): list and abort
 * unfinished multipart uploads, and `upload-s3` — single files into the bucket under their base
 * name, encrypted in lomob's format (storage/lomob) unless asked not to. They work on any tier with
 * the capabilities they need (tests for `listUploads` / `abortUploadById`, never for a class).
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { encryptLomobFile } from '../lomob/crypto.js';
import type { PendingUpload, Tier } from '../tiers/tier.js';
import { JobError, noProgress, type ProgressFn } from './job.js';

function needs<K extends keyof Tier>(tier: Tier, cap: K, what: string): NonNullable<Tier[K]> {
  const f = tier[cap];
  if (typeof f !== 'function') throw new JobError(`${what} needs an S3 bucket; ${tier.url} has no multipart uploads (give AWS credentials or --awsEndpoint)`, 'usage');
  return (f as (...a: unknown[]) => unknown).bind(tier) as NonNullable<Tier[K]>;
}

/** `util list-inprogress-upload`: the bucket's unfinished multipart uploads, oldest first. */
export async function listInProgressUploads(tier: Tier): Promise<PendingUpload[]> {
  const list = await needs(tier, 'listUploads', 'util list-inprogress-upload')();
  return list.sort((a, b) => (a.initiated?.getTime() ?? 0) - (b.initiated?.getTime() ?? 0));
}

export interface AbortResult {
  aborted: PendingUpload[];
  failed: { upload: PendingUpload; error: string }[];
}

/**
 * `util abort-upload <key> [<upload id>]`: that upload, or (no id) every unfinished upload of the
 * key, as lomob does. A key with nothing to abort is not an error (lomob prints a line and exits 0).
 */
export async function abortUploads(tier: Tier, key: string, uploadId?: string, onProgress: ProgressFn = noProgress): Promise<AbortResult> {
  const abort = needs(tier, 'abortUploadById', 'util abort-upload');
  const res: AbortResult = { aborted: [], failed: [] };
  const targets = uploadId ? [{ key, uploadId }] : (await listInProgressUploads(tier)).filter((u) => u.key === key);
  for (const u of targets) {
    try {
      await abort(u.key, u.uploadId);
      res.aborted.push(u);
      onProgress({ job: 'util abort-upload', item: u.key, message: `abort upload ID ${u.uploadId} success!` });
    } catch (e) {
      // With an explicit id the one abort is the command: let its error decide the exit code.
      if (uploadId) throw e;
      res.failed.push({ upload: u, error: (e as Error).message });
      onProgress({ job: 'util abort-upload', item: u.key, level: 'warn', message: `abort upload ID ${u.uploadId}: ${(e as Error).message}` });
    }
  }
  return res;
}

export interface UploadS3Options {
  /** lomob's master key; null: upload the plain bytes (--no-encrypt). */
  masterKey: string | null;
  onProgress?: ProgressFn;
}

export interface UploadS3Item {
  file: string;
  key: string;
  status: 'uploaded' | 'exists';
  /** Bytes stored (lomob's format adds its 16-byte IV). */
  size: number;
  /** Hex SHA-256 of the stored bytes. */
  sha256?: string;
}

async function sha256Of(file: string): Promise<string> {
  const h = crypto.createHash('sha256');
  for await (const c of fs.createReadStream(file)) h.update(c as Buffer);
  return h.digest('hex');
}

/**
 * `util upload-s3 <files..>`: each file under its base name at the tier's root, as lomob's
 * uploadFilesToS3: a key that already exists is left alone ("already in bucket"). Encrypted files
 * go through a private temporary file (the checksum S3 verifies must be known before the put).
 */
export async function uploadFilesToS3(tier: Tier, files: string[], opts: UploadS3Options): Promise<UploadS3Item[]> {
  const say = opts.onProgress ?? noProgress;
  for (const f of files) if (!fs.existsSync(f) || !fs.statSync(f).isFile()) throw new JobError(`${f} is not a file`, 'input');
  await tier.prepare?.();
  const out: UploadS3Item[] = [];
  for (const file of files) {
    const key = path.basename(file);
    const existing = await tier.head(key);
    if (existing) {
      say({ job: 'util upload-s3', item: key, message: `${key} is already in ${tier.url}, no need upload again!` });
      out.push({ file, key, status: 'exists', size: existing.size, sha256: existing.sha256 });
      continue;
    }
    if (opts.masterKey === null) {
      const size = fs.statSync(file).size;
      const sha256 = await sha256Of(file);
      await tier.put(key, fs.createReadStream(file), { size, sha256 });
      out.push({ file, key, status: 'uploaded', size, sha256 });
    } else {
      const tmpDir = fs.mkdtempSync(path.join(os.tmpdir(), 'lomo-upload-s3-'));
      try {
        const enc = path.join(tmpDir, key);
        const r = await encryptLomobFile(file, enc, opts.masterKey);
        const sha256 = r.cipherSha256.toString('hex');
        await tier.put(key, fs.createReadStream(enc), { size: r.cipherSize, sha256 });
        out.push({ file, key, status: 'uploaded', size: r.cipherSize, sha256 });
      } finally {
        fs.rmSync(tmpDir, { recursive: true, force: true });
      }
    }
    say({ job: 'util upload-s3', item: key, message: `uploaded ${file} to ${tier.url}/${key}` });
  }
  return out;
}

/** `util list-inprogress-upload --local`: the unfinished uploads this catalog's journal records (lomo-peer's own). */
export function recordedUploads(db: import('../catalog/db.js').Db): { tierUrl: string; key: string; uploadId: string; startedAt: number | null }[] {
  return db.prepare('SELECT tier_url AS tierUrl, key, upload_id AS uploadId, started_at AS startedAt FROM cloud_uploads ORDER BY started_at, id').all() as never;
}
