/**
 * Drive's resumable upload protocol (not in the generated client): POST for a session URI, PUT
 * chunks in multiples of 256 KiB, 308 + Range after each; after a failure `Content-Range: bytes
 * *\/TOTAL` asks how far the server got. Used by gdrive.ts for large files.
 */
import type { drive_v3 } from '@googleapis/drive';
import type { OAuth2Client } from 'google-auth-library';
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { TierError, type PutOptions } from './tier.js';
import { withRetry, type RetryOptions } from './retry.js';
import { splitParts } from './parts.js';
import { mapDriveError } from './gdrive-errors.js';
import type { UploadJournal } from './upload-journal.js';

const UNIT = 256 * 1024;
/** The File fields every tier call asks for (checksums must be asked for explicitly). */
export const FILE_FIELDS = 'id,name,mimeType,size,md5Checksum,sha256Checksum,modifiedTime,appProperties,parents';

export interface ResumableContext {
  auth: OAuth2Client;
  rootUrl: string;
  /** The tier's url: the journal's key space. */
  url: string;
  journal?: UploadJournal;
  retry?: RetryOptions;
  /** Counts one request of this kind. */
  count: (name: string) => void;
  chunkSize?: number;
}

/**
 * The resumable protocol: POST for a session URI, then PUT chunks; after a failure ask
 * `bytes *\/TOTAL` and send only what the server lacks. With a journal (and a known size) the
 * session URI is recorded, so a later process resumes the same session: it re-reads and hashes
 * the bytes the server already has, but does not send them again.
 */
export async function resumableUpload(
  ctx: ResumableContext,
  key: string,
  fileId: string | null,
  meta: drive_v3.Schema$File,
  body: Readable | Buffer,
  size: number | undefined,
  opts: PutOptions,
): Promise<{ file: drive_v3.Schema$File; sha256: string }> {
  const chunkSize = Math.max(UNIT, Math.floor((ctx.chunkSize ?? 8 * 1024 * 1024) / UNIT) * UNIT);
  const journal = size !== undefined ? ctx.journal : undefined;
  const status = async (session: string, total: string) => {
    ctx.count('upload.status');
    return raw(ctx, 'PUT', session, Buffer.alloc(0), { 'content-range': `bytes */${total}` });
  };
  let session: string | null = null;
  let confirmed = 0; // bytes the server already has
  const old = journal?.load(ctx.url, key);
  if (old && old.partSize === chunkSize) {
    const st = await withRetry(() => status(old.uploadId, String(size)), ctx.retry);
    if (st.status === 308) {
      session = old.uploadId;
      confirmed = st.range !== undefined ? st.range + 1 : 0;
    } else if (st.status === 200 || st.status === 201) {
      session = old.uploadId;
      confirmed = size!;
    }
  }
  if (!session) {
    if (old) journal!.finished(ctx.url, key);
    const startUrl = `${ctx.rootUrl}upload/drive/v3/files${fileId ? '/' + encodeURIComponent(fileId) : ''}?uploadType=resumable&fields=${encodeURIComponent(FILE_FIELDS)}`;
    session = await withRetry(async () => {
      ctx.count('upload.start');
      const r = await raw(ctx, fileId ? 'PATCH' : 'POST', startUrl, JSON.stringify(meta), {
        'content-type': 'application/json; charset=UTF-8',
        'x-upload-content-type': 'application/octet-stream',
        ...(size !== undefined ? { 'x-upload-content-length': String(size) } : {}),
      });
      if (r.status !== 200) throw mapDriveError(r, `start upload of ${key}`);
      if (!r.location) throw new TierError(`start upload of ${key}: no session URI in the answer`, 'unavailable');
      return r.location;
    }, ctx.retry);
    journal?.started(ctx.url, key, session, chunkSize, size);
  }
  const url = session;
  const hash = createHash('sha256');
  let offset = 0;
  let file: drive_v3.Schema$File | null = null;
  // Look one chunk ahead so the last chunk can carry the total even when the size was unknown.
  const it = splitParts(body, chunkSize)[Symbol.asyncIterator]();
  let cur = await it.next();
  while (!cur.done) {
    if (opts.signal?.aborted) throw opts.signal.reason;
    const next = await it.next();
    const chunk = cur.value;
    hash.update(chunk);
    const total = next.done ? String(offset + chunk.length) : size !== undefined ? String(size) : '*';
    let sent = Math.min(chunk.length, Math.max(0, confirmed - offset)); // bytes of this chunk the server has
    const isLast = !!next.done;
    if (sent < chunk.length || isLast) {
      file = await withRetry(async (attempt) => {
        if (attempt > 0) {
          // Ask how far the server got before sending the rest of this chunk again.
          const st = await status(url, total);
          if (st.status === 200 || st.status === 201) return st.json as drive_v3.Schema$File;
          if (st.status === 404) throw new TierError(`upload of ${key}: Drive dropped the upload session (404); run the command again to restart this file`, 'not-found');
          if (st.status !== 308) throw mapDriveError(st, `upload of ${key}`);
          const have = st.range !== undefined ? st.range + 1 : 0;
          if (have < offset) throw new TierError(`upload of ${key}: the server lost bytes it had confirmed; run the command again`, 'not-found');
          sent = Math.min(chunk.length, have - offset);
        }
        ctx.count('upload.chunk');
        const part = chunk.subarray(sent);
        const r = await raw(ctx, 'PUT', url, part, { 'content-range': part.length ? `bytes ${offset + sent}-${offset + chunk.length - 1}/${total}` : `bytes */${total}` });
        if (r.status === 200 || r.status === 201) return r.json as drive_v3.Schema$File;
        if (r.status === 308) {
          const got = r.range ?? -1;
          if (got + 1 !== offset + chunk.length) throw new TierError(`upload of ${key}: server has ${got + 1} bytes, expected ${offset + chunk.length}`, 'unavailable');
          return null;
        }
        if (r.status === 404) throw new TierError(`upload of ${key}: Drive dropped the upload session (404); run the command again to restart this file`, 'not-found');
        throw mapDriveError(r, `upload chunk of ${key}`);
      }, ctx.retry);
    }
    offset += chunk.length;
    opts.onProgress?.(offset);
    cur = next;
  }
  journal?.finished(ctx.url, key);
  if (!file) throw new TierError(`upload of ${key}: the server never confirmed the file`, 'unavailable');
  return { file, sha256: hash.digest('hex') };
}

/** A bare authorized HTTP call (the resumable protocol is not in the generated client). */
async function raw(ctx: ResumableContext, method: string, url: string, data: string | Buffer, headers: Record<string, string>): Promise<{ status: number; location?: string; range?: number; json?: unknown; data?: unknown }> {
  try {
    const r = await ctx.auth.request<unknown>({ url, method: method as 'PUT', data, headers, retry: false, validateStatus: () => true, responseType: 'text' });
    const h = r.headers as unknown as { get?: (n: string) => string | null } & Record<string, string>;
    const get = (n: string) => (typeof h.get === 'function' ? h.get(n) : h[n]) ?? undefined;
    const range = /bytes=0-(\d+)/.exec(get('range') ?? '')?.[1];
    let json: unknown;
    try {
      json = typeof r.data === 'string' && r.data ? JSON.parse(r.data) : r.data;
    } catch {
      json = undefined;
    }
    return { status: r.status, location: get('location'), range: range !== undefined ? Number(range) : undefined, json, data: json };
  } catch (err) {
    throw mapDriveError(err, `request to Drive`);
  }
}
