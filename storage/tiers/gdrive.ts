/**
 * The Google Drive staging tier (Drive API v3 through @googleapis/drive). Keys map to a folder
 * tree under one top folder (lomob's --folder, default "lomorage"), created on demand. Small files
 * go up as one multipart request; large ones with the resumable protocol (chunks in 256 KiB
 * multiples, status query after a failure, continue from the server's Range). A file already there
 * with the same SHA-256 is not sent again. Before a put the free quota (about.get) is checked,
 * because a full Drive fails only at the end of a long upload otherwise; trash counts against it.
 *
 * Retries are ours (retry.ts); the client's are off so each call is one request.
 */
import { drive as driveApi, type drive_v3 } from '@googleapis/drive';
import type { OAuth2Client } from 'google-auth-library';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { TierError, assertSafeKey, type ByteRange, type ObjectStat, type PutOptions, type Tier, type TierQuota, type TreeEntry } from './tier.js';
import { withRetry, type RetryOptions } from './retry.js';
import { mapDriveError } from './gdrive-errors.js';
import { FILE_FIELDS, resumableUpload, type ResumableContext } from './gdrive-resumable.js';

export { mapDriveError };
import type { UploadJournal } from './upload-journal.js';

export const FOLDER_MIME = 'application/vnd.google-apps.folder';

export interface GDriveTierOptions {
  auth: OAuth2Client;
  /** Top folder under My Drive (lomob --folder). */
  folder?: string;
  /** Drive API root; defaults to Google's. */
  rootUrl?: string;
  /** Files at least this big use the resumable protocol. */
  resumableThreshold?: number;
  /** Resumable chunk size (rounded down to a 256 KiB multiple). */
  chunkSize?: number;
  retry?: RetryOptions;
  /**
   * Batch commands (upload files): list each folder once and answer later look-ups from that
   * listing (kept up to date with our own writes): one request per folder instead of one per file.
   */
  cacheListings?: boolean;
  /** Keeps resumable session URIs so that a new process continues a large upload. */
  journal?: UploadJournal;
}

export interface GDrivePutOptions extends PutOptions {
  /** The caller already checked the quota for a whole batch: skip the per-file about.get. */
  quotaChecked?: boolean;
  /** Shown by `list gdrive` (e.g. the plaintext hash, whose first 6 hex digits lomob prints). */
  appProperties?: Record<string, string>;
  modifiedAt?: Date;
}

/** An entry of the Drive tree (the Tier interface's TreeEntry). */
export type DriveEntry = TreeEntry;

export class GDriveTier implements Tier {
  readonly kind = 'gdrive';
  readonly url: string;
  readonly drive: drive_v3.Drive;
  readonly folder: string;
  readonly rootUrl: string;
  private folders = new Map<string, string>();
  /** cacheListings: parent id -> ('d:' | 'f:') + name -> file. */
  private children = new Map<string, Map<string, drive_v3.Schema$File>>();
  private childrenPending = new Map<string, Promise<Map<string, drive_v3.Schema$File>>>();
  private folderPending = new Map<string, Promise<string | null>>();
  readonly requests = new Map<string, number>();

  constructor(readonly opts: GDriveTierOptions) {
    this.folder = opts.folder ?? 'lomorage';
    this.rootUrl = (opts.rootUrl ?? 'https://www.googleapis.com/').replace(/\/?$/, '/');
    // googleapis-common bundles its own google-auth-library copy: same runtime shape.
    this.drive = driveApi({ version: 'v3', auth: opts.auth as never, rootUrl: this.rootUrl, retry: false });
    this.url = `gdrive://${this.folder}`;
  }

  /** One API call with our retry policy and error mapping. */
  private async call<T>(name: string, what: string, fn: () => Promise<{ data: T }>): Promise<T> {
    let refreshed = false;
    return withRetry(async () => {
      this.requests.set(name, (this.requests.get(name) ?? 0) + 1);
      try {
        return (await fn()).data;
      } catch (err) {
        // A 401 with a token that looked valid (revoked early, clock skew): refresh once and retry;
        // if the refresh token itself is dead, that failure carries the message naming the fix.
        if ((err as { response?: { status?: number } }).response?.status === 401 && !refreshed && this.opts.auth.credentials.refresh_token) {
          refreshed = true;
          this.opts.auth.setCredentials({ ...this.opts.auth.credentials, access_token: undefined, expiry_date: 1 });
          throw new TierError(`${what}: access token refused, refreshing it`, 'unavailable', err);
        }
        throw mapDriveError(err, what);
      }
    }, this.opts.retry);
  }

  private session(): ResumableContext {
    return {
      auth: this.opts.auth,
      rootUrl: this.rootUrl,
      url: this.url,
      journal: this.opts.journal,
      retry: this.opts.retry,
      count: (name) => this.requests.set(name, (this.requests.get(name) ?? 0) + 1),
      chunkSize: this.opts.chunkSize,
    };
  }

  requestCount(): number {
    let n = 0;
    for (const v of this.requests.values()) n += v;
    return n;
  }

  async quota(): Promise<TierQuota> {
    const a = await this.call<drive_v3.Schema$About>('about.get', 'Drive quota', () => this.drive.about.get({ fields: 'storageQuota' }));
    const q = a.storageQuota ?? {};
    const limit = q.limit ? Number(q.limit) : undefined;
    const usage = Number(q.usage ?? 0);
    return { limit, usage, trash: Number(q.usageInDriveTrash ?? 0), free: limit === undefined ? undefined : limit - usage };
  }

  /** Fails with a clear 'quota' error when `bytes` more do not fit. */
  async checkQuota(bytes: number): Promise<void> {
    const q = await this.quota();
    if (q.free !== undefined && bytes > q.free) {
      const trash = q.trash > 0 ? ` (${q.trash} bytes of it are in the trash: empty it)` : '';
      throw new TierError(`Google Drive is full: ${q.free} bytes free of ${q.limit}, ${bytes} needed${trash}. Free space or upload fewer files (the 15 GB are shared with Gmail and Photos).`, 'quota');
    }
  }

  private async listChildren(parentId: string): Promise<Map<string, drive_v3.Schema$File>> {
    const have = this.children.get(parentId);
    if (have) return have;
    let p = this.childrenPending.get(parentId);
    if (!p) {
      p = (async () => {
        const m = new Map<string, drive_v3.Schema$File>();
        let pageToken: string | undefined;
        do {
          const r = await this.call<drive_v3.Schema$FileList>('files.list', `list folder ${parentId}`, () =>
            this.drive.files.list({ q: `'${esc(parentId)}' in parents and trashed = false`, fields: `nextPageToken,files(${FILE_FIELDS})`, pageSize: 1000, pageToken }),
          );
          for (const f of r.files ?? []) {
            const k = `${f.mimeType === FOLDER_MIME ? 'd' : 'f'}:${f.name}`;
            if (!m.has(k)) m.set(k, f);
          }
          pageToken = r.nextPageToken ?? undefined;
        } while (pageToken);
        this.children.set(parentId, m);
        return m;
      })().finally(() => this.childrenPending.delete(parentId));
      this.childrenPending.set(parentId, p);
    }
    return p;
  }

  private remember(parentId: string, f: drive_v3.Schema$File): void {
    this.children.get(parentId)?.set(`${f.mimeType === FOLDER_MIME ? 'd' : 'f'}:${f.name}`, f);
  }

  private forget(fileId: string): void {
    for (const m of this.children.values()) for (const [k, f] of m) if (f.id === fileId) m.delete(k);
  }

  private async findChild(parentId: string, name: string, folder: boolean): Promise<drive_v3.Schema$File | null> {
    if (this.opts.cacheListings) return (await this.listChildren(parentId)).get(`${folder ? 'd' : 'f'}:${name}`) ?? null;
    const q = `name = '${esc(name)}' and '${esc(parentId)}' in parents and trashed = false and mimeType ${folder ? '=' : '!='} '${FOLDER_MIME}'`;
    const r = await this.call<drive_v3.Schema$FileList>('files.list', `look up ${name}`, () => this.drive.files.list({ q, fields: `files(${FILE_FIELDS})`, pageSize: 10 }));
    return r.files?.[0] ?? null;
  }

  /**
   * Id of the folder for a '/'-separated path under the top folder ('' = top); created if asked.
   * Concurrent puts into a new folder share one look-up/creation (no duplicate folders).
   */
  async folderId(dir: string, create: boolean): Promise<string | null> {
    const cached = this.folders.get(dir);
    if (cached) return cached;
    let parentId = 'root';
    let sofar = '';
    for (const seg of [this.folder, ...(dir ? dir.split('/') : [])]) {
      sofar = sofar ? `${sofar}/${seg}` : seg;
      const c = this.folders.get(sofar);
      if (c) {
        parentId = c;
        continue;
      }
      const pendingKey = `${create}:${sofar}`;
      let p = this.folderPending.get(pendingKey);
      if (!p) {
        const parent = parentId;
        const path = sofar;
        p = (async () => {
          let f = await this.findChild(parent, seg, true);
          if (!f) {
            if (!create) return null;
            f = await this.call<drive_v3.Schema$File>('files.create', `create folder ${path}`, () =>
              this.drive.files.create({ requestBody: { name: seg, mimeType: FOLDER_MIME, parents: [parent] }, fields: 'id' }),
            );
            this.remember(parent, { id: f.id, name: seg, mimeType: FOLDER_MIME });
            if (this.opts.cacheListings) this.children.set(f.id!, new Map()); // new and empty: nothing to list
          }
          this.folders.set(path, f.id!);
          return f.id!;
        })().finally(() => this.folderPending.delete(pendingKey));
        this.folderPending.set(pendingKey, p);
      }
      const id = await p;
      if (!id) return null;
      parentId = id;
    }
    return parentId;
  }

  private split(key: string): { dir: string; name: string } {
    assertSafeKey(key);
    const i = key.lastIndexOf('/');
    return { dir: i < 0 ? '' : key.slice(0, i), name: key.slice(i + 1) };
  }

  async head(key: string): Promise<ObjectStat | null> {
    const { dir, name } = this.split(key);
    const parent = await this.folderId(dir, false);
    if (!parent) return null;
    const f = await this.findChild(parent, name, false);
    return f ? toStat(key, f) : null;
  }

  async put(key: string, body: Readable | Buffer, opts: GDrivePutOptions = {}): Promise<ObjectStat> {
    const { dir, name } = this.split(key);
    const parent = (await this.folderId(dir, true))!;
    const existing = await this.findChild(parent, name, false);
    if (existing && opts.sha256 && existing.sha256Checksum === opts.sha256 && (opts.size === undefined || Number(existing.size) === opts.size)) {
      return toStat(key, existing);
    }
    const size = opts.size ?? (Buffer.isBuffer(body) ? body.length : undefined);
    if (!opts.quotaChecked) await this.checkQuota(Math.max(0, (size ?? 0) - Number(existing?.size ?? 0)));
    const meta: drive_v3.Schema$File = { name, appProperties: opts.appProperties, modifiedTime: opts.modifiedAt?.toISOString() };
    const threshold = this.opts.resumableThreshold ?? 5 * 1024 * 1024;
    let f: drive_v3.Schema$File;
    let digest: string;
    if (size !== undefined && size < threshold) {
      const buf = Buffer.isBuffer(body) ? body : await readAll(body);
      digest = createHash('sha256').update(buf).digest('hex');
      f = await this.call<drive_v3.Schema$File>('files.create', `upload ${key}`, () => {
        const media = { mimeType: 'application/octet-stream', body: Readable.from([buf]) };
        // The client builds media URLs from the per-call rootUrl only (the global one is ignored).
        return existing
          ? this.drive.files.update({ fileId: existing.id!, requestBody: meta, media, fields: FILE_FIELDS }, { rootUrl: this.rootUrl })
          : this.drive.files.create({ requestBody: { ...meta, parents: [parent] }, media, fields: FILE_FIELDS }, { rootUrl: this.rootUrl });
      });
      opts.onProgress?.(buf.length);
    } else {
      ({ file: f, sha256: digest } = await resumableUpload(this.session(), key, existing ? existing.id! : null, existing ? meta : { ...meta, parents: [parent] }, body, size, opts));
    }
    this.remember(parent, { ...f, name, mimeType: f.mimeType ?? 'application/octet-stream' });
    if (f.sha256Checksum && f.sha256Checksum !== digest) {
      this.forget(f.id!);
      await this.call('files.delete', `delete damaged ${key}`, () => this.drive.files.delete({ fileId: f.id! }));
      throw new TierError(`${key}: Drive stored different bytes (SHA-256 mismatch); the copy was deleted`, 'checksum');
    }
    if (opts.sha256 && digest !== opts.sha256) throw new TierError(`${key}: the bytes read do not match the expected SHA-256`, 'checksum');
    if (size !== undefined && Number(f.size) !== size) throw new TierError(`${key}: Drive reports ${f.size} bytes, expected ${size}`, 'checksum');
    return toStat(key, f);
  }

  async *list(prefix = ''): AsyncIterable<ObjectStat> {
    for await (const e of this.walk()) if (!e.isFolder && e.path.startsWith(prefix)) yield { key: e.path, size: e.size, sha256: e.sha256, modifiedAt: e.modifiedAt, id: e.id };
  }

  /** Depth-first walk of the tree under the top folder, folders included, sorted by name. */
  async *walk(dir = ''): AsyncIterable<DriveEntry> {
    const id = await this.folderId(dir, false);
    if (!id) return;
    const kids: drive_v3.Schema$File[] = [];
    let pageToken: string | undefined;
    do {
      const r = await this.call<drive_v3.Schema$FileList>('files.list', `list ${dir || this.folder}`, () =>
        this.drive.files.list({ q: `'${esc(id)}' in parents and trashed = false`, fields: `nextPageToken,files(${FILE_FIELDS})`, pageSize: 1000, pageToken }),
      );
      kids.push(...(r.files ?? []));
      pageToken = r.nextPageToken ?? undefined;
    } while (pageToken);
    kids.sort((a, b) => (a.name! < b.name! ? -1 : a.name! > b.name! ? 1 : 0));
    for (const k of kids) {
      const p = dir ? `${dir}/${k.name}` : k.name!;
      const isFolder = k.mimeType === FOLDER_MIME;
      if (isFolder) this.folders.set(`${this.folder}/${p}`, k.id!);
      yield { path: p, id: k.id!, isFolder, size: Number(k.size ?? 0), modifiedAt: k.modifiedTime ? new Date(k.modifiedTime) : undefined, sha256: k.sha256Checksum ?? undefined, appProperties: k.appProperties ?? undefined };
      if (isFolder) yield* this.walk(p);
    }
  }

  async get(key: string, range?: ByteRange): Promise<Readable> {
    const st = await this.head(key);
    if (!st) throw new TierError(`${key} is not on Google Drive (${this.url})`, 'not-found');
    return this.getById(st.id!, range);
  }

  async getById(fileId: string, range?: ByteRange): Promise<Readable> {
    return this.call<Readable>('files.get', `download ${fileId}`, () =>
      this.drive.files.get({ fileId, alt: 'media' }, { responseType: 'stream', headers: range ? { Range: `bytes=${range.start}-${range.end}` } : {} }) as Promise<{ data: Readable }>,
    );
  }

  /**
   * Permanent delete of one file of ours: skips the trash, which would still count against the
   * quota. Never files.emptyTrash: that deletes every trashed file of the user, ours or not.
   */
  async delete(key: string): Promise<void> {
    const st = await this.head(key);
    if (st) await this.deleteById(st.id!);
  }

  async deleteById(fileId: string): Promise<void> {
    this.forget(fileId);
    try {
      await this.call('files.delete', `delete ${fileId}`, () => this.drive.files.delete({ fileId }));
    } catch (err) {
      if (!(err instanceof TierError && err.kind === 'not-found')) throw err;
    }
  }
}

function toStat(key: string, f: drive_v3.Schema$File): ObjectStat {
  return { key, size: Number(f.size ?? 0), sha256: f.sha256Checksum ?? undefined, md5: f.md5Checksum ?? undefined, modifiedAt: f.modifiedTime ? new Date(f.modifiedTime) : undefined, id: f.id ?? undefined };
}

/** Drive query string literal: backslash and quote escaped. */
function esc(s: string): string {
  return s.replace(/\\/g, '\\\\').replace(/'/g, "\\'");
}

async function readAll(r: Readable): Promise<Buffer> {
  const c: Buffer[] = [];
  for await (const x of r) c.push(Buffer.isBuffer(x) ? x : Buffer.from(x));
  return Buffer.concat(c);
}
