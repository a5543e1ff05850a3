/**
 * The emulated Drive's state: files and folders with their bytes, trash, quota. Resource JSON
 * follows the Drive v3 File reference: int64 values (size, quota) are strings, checksums exist
 * only for binary files, folders have mimeType application/vnd.google-apps.folder.
 *
 * Every file remembers the app (OAuth client) that created it, which is what the drive.file scope
 * goes by; a file put here directly by a test (`create(meta, data)` without an app) stands for one
 * the user made in the web UI or with another app. The trash belongs to the user, not to an app:
 * `emptyTrash()` deletes every trashed file, whoever made it (files.emptyTrash: "Permanently
 * deletes all of the user's trashed files").
 */
import { createHash, randomBytes } from 'node:crypto';

export const FOLDER_MIME = 'application/vnd.google-apps.folder';

export interface StoredFile {
  id: string;
  name: string;
  mimeType: string;
  parents: string[];
  trashed: boolean;
  createdTime: string;
  modifiedTime: string;
  description?: string;
  properties?: Record<string, string>;
  appProperties?: Record<string, string>;
  data: Buffer | null;
  /** The OAuth client that created the file; undefined: made by the user or another app. */
  appId?: string;
  md5?: string;
  sha1?: string;
  sha256?: string;
}

export class DriveError extends Error {
  constructor(
    readonly status: number,
    readonly reason: string,
    message: string,
    readonly domain = 'global',
  ) {
    super(message);
  }
}

/** Metadata fields a client may set on create/update. */
export interface FileMeta {
  name?: string;
  mimeType?: string;
  parents?: string[];
  trashed?: boolean;
  modifiedTime?: string;
  description?: string;
  properties?: Record<string, string>;
  appProperties?: Record<string, string>;
}

export class DriveStore {
  readonly rootId = '0AemuRootFolder' + randomBytes(4).toString('hex');
  readonly files = new Map<string, StoredFile>();
  quotaLimit: number;

  constructor(quotaLimit: number) {
    this.quotaLimit = quotaLimit;
  }

  resolveId(id: string): string {
    return id === 'root' ? this.rootId : id;
  }

  usage(): { total: number; trash: number } {
    let total = 0;
    let trash = 0;
    for (const f of this.files.values()) {
      const n = f.data?.length ?? 0;
      total += n;
      if (f.trashed) trash += n;
    }
    return { total, trash };
  }

  /** Throws 403 storageQuotaExceeded when `extra` more bytes would not fit. */
  checkQuota(extra: number): void {
    if (this.usage().total + extra > this.quotaLimit) {
      throw new DriveError(403, 'storageQuotaExceeded', "The user's Drive storage quota has been exceeded.", 'usageLimits');
    }
  }

  get(id: string): StoredFile {
    const f = this.files.get(this.resolveId(id));
    if (!f) throw new DriveError(404, 'notFound', `File not found: ${id}.`);
    return f;
  }

  create(meta: FileMeta, data: Buffer | null, appId?: string): StoredFile {
    const now = new Date().toISOString();
    const mimeType = meta.mimeType ?? (data ? 'application/octet-stream' : 'application/octet-stream');
    const parents = (meta.parents && meta.parents.length ? meta.parents : ['root']).map((p) => this.resolveId(p));
    for (const p of parents) {
      if (p !== this.rootId) {
        const parent = this.get(p);
        if (parent.mimeType !== FOLDER_MIME) throw new DriveError(400, 'invalidParent', 'The parent is not a folder.');
      }
    }
    const isFolder = mimeType === FOLDER_MIME;
    const bytes = isFolder ? null : (data ?? Buffer.alloc(0));
    if (bytes) this.checkQuota(bytes.length);
    const f: StoredFile = {
      id: '1emu' + randomBytes(12).toString('base64url'),
      name: meta.name ?? 'Untitled',
      mimeType,
      parents,
      trashed: false,
      createdTime: now,
      modifiedTime: meta.modifiedTime ?? now,
      description: meta.description,
      properties: meta.properties,
      appProperties: meta.appProperties,
      data: null,
      appId,
    };
    if (meta.trashed) f.trashed = true;
    if (bytes) this.setData(f, bytes);
    this.files.set(f.id, f);
    return f;
  }

  setData(f: StoredFile, data: Buffer): void {
    f.data = data;
    f.md5 = createHash('md5').update(data).digest('hex');
    f.sha1 = createHash('sha1').update(data).digest('hex');
    f.sha256 = createHash('sha256').update(data).digest('hex');
  }

  update(id: string, meta: FileMeta, addParents: string[], removeParents: string[], data: Buffer | null): StoredFile {
    const f = this.get(id);
    if (data) {
      this.checkQuota(data.length - (f.data?.length ?? 0));
      this.setData(f, data);
    }
    if (meta.name !== undefined) f.name = meta.name;
    if (meta.mimeType !== undefined && f.mimeType !== FOLDER_MIME) f.mimeType = meta.mimeType;
    if (meta.description !== undefined) f.description = meta.description;
    if (meta.trashed !== undefined) this.setTrashed(f, meta.trashed);
    if (meta.properties) f.properties = { ...f.properties, ...meta.properties };
    if (meta.appProperties) f.appProperties = { ...f.appProperties, ...meta.appProperties };
    f.parents = f.parents.filter((p) => !removeParents.map((r) => this.resolveId(r)).includes(p));
    for (const p of addParents) if (!f.parents.includes(this.resolveId(p))) f.parents.push(this.resolveId(p));
    f.modifiedTime = meta.modifiedTime ?? new Date().toISOString();
    return f;
  }

  /** Trashing a folder trashes what is inside it, as Drive does. */
  private setTrashed(f: StoredFile, trashed: boolean): void {
    f.trashed = trashed;
    for (const c of this.children(f.id)) this.setTrashed(c, trashed);
  }

  private children(id: string): StoredFile[] {
    return [...this.files.values()].filter((c) => c.parents.includes(id));
  }

  /** Permanent delete, folders with their contents. */
  delete(id: string): void {
    const f = this.get(id);
    for (const c of this.children(f.id)) this.delete(c.id);
    this.files.delete(f.id);
  }

  emptyTrash(): void {
    for (const f of [...this.files.values()]) if (f.trashed && this.files.has(f.id)) this.delete(f.id);
  }

  /** The full v3 File resource; the caller projects it with `fields`. */
  resource(f: StoredFile): Record<string, unknown> {
    const r: Record<string, unknown> = {
      kind: 'drive#file',
      id: f.id,
      name: f.name,
      mimeType: f.mimeType,
      parents: f.parents,
      trashed: f.trashed,
      createdTime: f.createdTime,
      modifiedTime: f.modifiedTime,
      description: f.description,
      properties: f.properties,
      appProperties: f.appProperties,
    };
    if (f.data) {
      r.size = String(f.data.length);
      r.quotaBytesUsed = String(f.data.length);
      r.md5Checksum = f.md5;
      r.sha1Checksum = f.sha1;
      r.sha256Checksum = f.sha256;
    }
    return r;
  }
}
