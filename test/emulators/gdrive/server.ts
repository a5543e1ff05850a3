/**
 * A Google Drive API v3 emulator for tests, written from the v3 reference: files.create (multipart,
 * media and resumable uploads), files.get (metadata, alt=media with Range), files.list (q, fields,
 * pageSize/pageToken), files.update (metadata, addParents/removeParents, new content, trashed),
 * files.delete, files.emptyTrash, about.get (storageQuota), plus the OAuth endpoints (oauth.ts). The official
 * `@googleapis/drive` client reaches it through its `rootUrl` option, unchanged.
 *
 * For tests: every request is logged (`requests`), faults can be injected for the next N API
 * requests (403 userRateLimitExceeded, 429 rateLimitExceeded, 500 backendError), the quota is
 * settable, and resumable sessions can be dropped (the client then gets 404 and must start over).
 *
 * Scopes, as the v3 reference and "Choose Google Drive API scopes" describe them, simply: a token
 * with the full `drive` scope sees every file of the user; a token with only `drive.file` sees the
 * files its app (OAuth client) created — others are absent from files.list and 404 to get, update
 * and delete, as Drive answers. files.emptyTrash requires the full `drive` scope (403
 * insufficientPermissions otherwise) and deletes every trashed file of the user. files.list returns
 * trashed files too unless `q` excludes them ("This method returns all files by default, including
 * trashed files").
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { DriveError, DriveStore, type FileMeta, type StoredFile } from './store.js';
import { QueryError, parseFields, parseQuery, project } from './query.js';
import { DRIVE_FILE, DRIVE_FULL, OAuthState, type Grant } from './oauth.js';

const CHUNK_UNIT = 256 * 1024;
const DEFAULT_FILE_FIELDS = 'kind,id,name,mimeType';

/** What a request may touch: every file (full scope, or requireAuth off), or one app's files. */
interface Caller {
  full: boolean;
  appId?: string;
}

function callerOf(g: Grant): Caller {
  if (g.scopes.includes(DRIVE_FULL)) return { full: true, appId: g.clientId };
  if (g.scopes.includes(DRIVE_FILE)) return { full: false, appId: g.clientId };
  throw new DriveError(403, 'insufficientPermissions', 'Request had insufficient authentication scopes.');
}

export interface LoggedRequest {
  method: string;
  path: string;
  uploadType?: string;
  status: number;
}

interface Session {
  meta: FileMeta;
  appId?: string;
  targetId?: string;
  total?: number;
  chunks: Buffer[];
  received: number;
  fields: string;
  done?: StoredFile;
}

export class DriveEmulator {
  readonly store: DriveStore;
  readonly oauth = new OAuthState();
  readonly requests: LoggedRequest[] = [];
  private faults: { status: number; reason: string }[] = [];
  private sessions = new Map<string, Session>();
  private server = http.createServer((req, res) => void this.handle(req, res));
  /** Called as each answer is sent, before the client can send its next request (test hooks). */
  afterResponse?: (r: LoggedRequest) => void;
  /** Set to false to accept any request without a bearer token. */
  requireAuth = true;
  url = '';

  constructor(opts: { quotaLimit?: number } = {}) {
    this.store = new DriveStore(opts.quotaLimit ?? 15e9);
  }

  async start(): Promise<this> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/`;
    return this;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server.close(() => r()));
  }

  get tokenUrl(): string {
    return this.url + 'token';
  }
  get authUrl(): string {
    return this.url + 'o/oauth2/auth';
  }

  /** The next `count` API requests fail with this status (OAuth endpoints are not affected). */
  injectFault(status: 403 | 429 | 500 | 503, count = 1): void {
    const reason = status === 403 ? 'userRateLimitExceeded' : status === 429 ? 'rateLimitExceeded' : 'backendError';
    for (let i = 0; i < count; i++) this.faults.push({ status, reason });
  }

  dropSessions(): void {
    this.sessions.clear();
  }

  apiRequests(): LoggedRequest[] {
    return this.requests.filter((r) => r.path !== '/token' && r.path !== '/o/oauth2/auth');
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://x');
    const entry: LoggedRequest = { method: req.method ?? 'GET', path: url.pathname, status: 0 };
    if (url.searchParams.get('uploadType')) entry.uploadType = url.searchParams.get('uploadType')!;
    this.requests.push(entry);
    res.on('finish', () => {
      entry.status = res.statusCode;
      this.afterResponse?.(entry);
    });
    try {
      const body = await readBody(req);
      if (url.pathname === '/token' && req.method === 'POST') return this.oauth.token(req, body, res);
      if (url.pathname === '/o/oauth2/auth' && req.method === 'GET') return this.oauth.authorize(url, res);
      const fault = this.faults.shift();
      if (fault) throw new DriveError(fault.status, fault.reason, fault.reason === 'backendError' ? 'Backend Error' : 'Rate Limit Exceeded', 'usageLimits');
      let caller: Caller = { full: true };
      if (this.requireAuth) {
        const token = /^Bearer (.+)$/i.exec(req.headers.authorization ?? '')?.[1];
        const grant = this.oauth.access(token);
        if (!grant) throw new DriveError(401, 'authError', 'Invalid Credentials');
        caller = callerOf(grant);
      }
      await this.route(req, url, body, res, caller);
    } catch (err) {
      if (err instanceof DriveError) return sendError(res, err);
      if (err instanceof QueryError) return sendError(res, new DriveError(400, 'invalid', `Invalid Value: ${err.message}`));
      if (err instanceof SyntaxError) return sendError(res, new DriveError(400, 'parseError', 'Parse Error'));
      sendError(res, new DriveError(500, 'backendError', String(err)));
    }
  }

  /** A file the caller may touch; others do not exist for it (404, as Drive answers). */
  private visible(id: string, caller: Caller) {
    const f = this.store.get(id);
    if (!caller.full && f.appId !== caller.appId) throw new DriveError(404, 'notFound', `File not found: ${id}.`);
    return f;
  }

  /** New files go only into folders the caller can see (My Drive's root always). */
  private checkParents(meta: FileMeta, caller: Caller): void {
    for (const p of meta.parents ?? []) if (this.store.resolveId(p) !== this.store.rootId) this.visible(p, caller);
  }

  private async route(req: http.IncomingMessage, url: URL, body: Buffer, res: http.ServerResponse, caller: Caller): Promise<void> {
    const p = url.pathname;
    const q = url.searchParams;
    const m = req.method ?? 'GET';
    let mm: RegExpExecArray | null;
    if (p === '/drive/v3/about' && m === 'GET') return this.about(q, res);
    if (p === '/drive/v3/files' && m === 'GET') return this.list(q, res, caller);
    if (p === '/drive/v3/files' && m === 'POST') {
      const meta = jsonBody(body);
      this.checkParents(meta, caller);
      const f = this.store.create(meta, null, caller.appId);
      return sendJson(res, 200, this.fileOut(f, q.get('fields')));
    }
    if (p === '/drive/v3/files/trash' && m === 'DELETE') {
      if (!caller.full) throw new DriveError(403, 'insufficientPermissions', 'Request had insufficient authentication scopes.');
      this.store.emptyTrash();
      return void res.writeHead(204).end();
    }
    if ((mm = /^\/drive\/v3\/files\/([^/]+)$/.exec(p))) {
      const id = decodeURIComponent(mm[1]!);
      this.visible(id, caller);
      if (m === 'GET') return this.get(id, q, req, res);
      if (m === 'PATCH') {
        for (const a of splitIds(q.get('addParents'))) this.checkParents({ parents: [a] }, caller);
        const f = this.store.update(id, jsonBody(body), splitIds(q.get('addParents')), splitIds(q.get('removeParents')), null);
        return sendJson(res, 200, this.fileOut(f, q.get('fields')));
      }
      if (m === 'DELETE') {
        this.store.delete(id);
        return void res.writeHead(204).end();
      }
    }
    if (p === '/upload/drive/v3/files' && m === 'PUT' && q.get('upload_id')) return this.resumablePut(q, req, body, res);
    if ((p === '/upload/drive/v3/files' && m === 'POST') || ((mm = /^\/upload\/drive\/v3\/files\/([^/]+)$/.exec(p)) && m === 'PATCH')) {
      const targetId = mm ? decodeURIComponent(mm[1]!) : undefined;
      if (targetId) this.visible(targetId, caller);
      const type = q.get('uploadType');
      if (type === 'resumable') return this.resumableStart(q, req, body, res, caller, targetId);
      let meta: FileMeta = {};
      let data: Buffer;
      if (type === 'multipart') ({ meta, data } = parseMultipart(req.headers['content-type'] ?? '', body));
      else if (type === 'media') data = body;
      else throw new DriveError(400, 'invalid', `Invalid uploadType: ${type}`);
      if (!meta.mimeType && type === 'media' && req.headers['content-type']) meta.mimeType = req.headers['content-type'];
      if (!targetId) this.checkParents(meta, caller);
      const f = targetId
        ? this.store.update(targetId, meta, splitIds(q.get('addParents')), splitIds(q.get('removeParents')), data)
        : this.store.create(meta, data, caller.appId);
      return sendJson(res, 200, this.fileOut(f, q.get('fields')));
    }
    throw new DriveError(404, 'notFound', `Not Found: ${m} ${p}`);
  }

  private fileOut(f: StoredFile, fields: string | null): unknown {
    return project(this.store.resource(f), parseFields(fields || DEFAULT_FILE_FIELDS));
  }

  private about(q: URLSearchParams, res: http.ServerResponse): void {
    const fields = q.get('fields');
    if (!fields) throw new DriveError(400, 'required', "The 'fields' parameter is required for this operation.");
    const u = this.store.usage();
    const about = {
      kind: 'drive#about',
      user: { kind: 'drive#user', displayName: 'Emulated User', emailAddress: 'user@example.com' },
      storageQuota: {
        limit: String(this.store.quotaLimit),
        usage: String(u.total),
        usageInDrive: String(u.total),
        usageInDriveTrash: String(u.trash),
      },
    };
    sendJson(res, 200, project(about, parseFields(fields)));
  }

  private list(q: URLSearchParams, res: http.ServerResponse, caller: Caller): void {
    const query = q.get('q');
    const pred = query ? parseQuery(query, (id) => this.store.resolveId(id)) : () => true;
    const pageSize = Math.min(Math.max(Number(q.get('pageSize') ?? 100) || 100, 1), 1000);
    let all = [...this.store.files.values()].filter((f) => (caller.full || f.appId === caller.appId) && pred(f));
    if (q.get('orderBy')?.startsWith('name')) all = all.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    const key = `${query ?? ''}|${q.get('orderBy') ?? ''}`;
    let offset = 0;
    const tok = q.get('pageToken');
    if (tok) {
      try {
        const d = JSON.parse(Buffer.from(tok, 'base64url').toString()) as { o: number; k: string };
        if (d.k !== key || !Number.isInteger(d.o)) throw new Error('mismatch');
        offset = d.o;
      } catch {
        throw new DriveError(400, 'invalid', 'Invalid Value: pageToken');
      }
    }
    const page = all.slice(offset, offset + pageSize);
    const out: Record<string, unknown> = { kind: 'drive#fileList', incompleteSearch: false, files: page.map((f) => this.store.resource(f)) };
    if (offset + pageSize < all.length) out.nextPageToken = Buffer.from(JSON.stringify({ o: offset + pageSize, k: key })).toString('base64url');
    const fields = q.get('fields') || `kind,nextPageToken,incompleteSearch,files(${DEFAULT_FILE_FIELDS})`;
    sendJson(res, 200, project(out, parseFields(fields)));
  }

  private get(id: string, q: URLSearchParams, req: http.IncomingMessage, res: http.ServerResponse): void {
    const f = this.store.get(id);
    if (q.get('alt') !== 'media') return sendJson(res, 200, this.fileOut(f, q.get('fields')));
    if (!f.data) throw new DriveError(403, 'fileNotDownloadable', 'Only files with binary content can be downloaded.');
    const data = f.data;
    const range = req.headers.range;
    if (!range) {
      res.writeHead(200, { 'content-type': f.mimeType, 'content-length': data.length });
      return void res.end(data);
    }
    const r = /^bytes=(\d*)-(\d*)$/.exec(range);
    let start: number;
    let end: number;
    if (r && r[1] !== '') {
      start = Number(r[1]);
      end = r[2] !== '' ? Math.min(Number(r[2]), data.length - 1) : data.length - 1;
    } else if (r && r[2] !== '') {
      start = Math.max(0, data.length - Number(r[2]));
      end = data.length - 1;
    } else {
      start = 1;
      end = 0;
    }
    if (!r || start >= data.length || start > end) {
      res.writeHead(416, { 'content-range': `bytes */${data.length}` });
      return void res.end();
    }
    res.writeHead(206, { 'content-type': f.mimeType, 'content-length': end - start + 1, 'content-range': `bytes ${start}-${end}/${data.length}` });
    res.end(data.subarray(start, end + 1));
  }

  private resumableStart(q: URLSearchParams, req: http.IncomingMessage, body: Buffer, res: http.ServerResponse, caller: Caller, targetId?: string): void {
    const meta = body.length ? jsonBody(body) : {};
    if (!targetId) this.checkParents(meta, caller);
    const lenHeader = req.headers['x-upload-content-length'];
    const total = lenHeader !== undefined ? Number(lenHeader) : undefined;
    if (total !== undefined) this.store.checkQuota(total);
    if (!meta.mimeType && req.headers['x-upload-content-type']) meta.mimeType = String(req.headers['x-upload-content-type']);
    if (targetId) this.store.get(targetId);
    const id = 'emu-' + randomBytes(12).toString('base64url');
    this.sessions.set(id, { meta, appId: caller.appId, targetId, total, chunks: [], received: 0, fields: q.get('fields') ?? '' });
    const loc = new URL(this.url + 'upload/drive/v3/files');
    loc.searchParams.set('uploadType', 'resumable');
    loc.searchParams.set('upload_id', id);
    res.writeHead(200, { location: loc.toString(), 'content-length': 0 }).end();
  }

  private resumablePut(q: URLSearchParams, req: http.IncomingMessage, body: Buffer, res: http.ServerResponse): void {
    const s = this.sessions.get(q.get('upload_id')!);
    if (!s) throw new DriveError(404, 'notFound', 'Upload session not found or expired; start a new upload.');
    if (s.done) return sendJson(res, 200, this.fileOut(s.done, s.fields));
    const cr = String(req.headers['content-range'] ?? '');
    const status = /^bytes \*\/(\d+|\*)$/.exec(cr);
    const chunk = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(cr);
    const incomplete = () => {
      const h: Record<string, string | number> = { 'content-length': 0 };
      if (s.received > 0) h.range = `bytes=0-${s.received - 1}`;
      res.writeHead(308, h).end();
    };
    if (status) {
      if (status[1] !== '*') s.total = Number(status[1]);
      if (s.total !== undefined && s.received === s.total) return this.finish(s, res);
      return incomplete();
    }
    if (!chunk && !cr && s.total === undefined) {
      // A whole body in one PUT without Content-Range.
      s.chunks.push(body);
      s.received = body.length;
      s.total = body.length;
      return this.finish(s, res);
    }
    if (!chunk) throw new DriveError(400, 'badContent', `Invalid Content-Range: ${cr}`);
    const start = Number(chunk[1]);
    const end = Number(chunk[2]);
    if (chunk[3] !== '*') s.total = Number(chunk[3]);
    if (end - start + 1 !== body.length) throw new DriveError(400, 'badContent', 'Content-Range does not match the body length.');
    if (start > s.received) throw new DriveError(400, 'badContent', `Chunk starts at ${start} but only ${s.received} bytes were received.`);
    const isLast = s.total !== undefined && end + 1 === s.total;
    if (!isLast && body.length % CHUNK_UNIT !== 0) {
      throw new DriveError(400, 'badContent', 'Chunk size must be a multiple of 256 KiB (262144 bytes), except for the last chunk.');
    }
    const fresh = body.subarray(s.received - start);
    s.chunks.push(fresh);
    s.received += fresh.length;
    if (s.total !== undefined && s.received >= s.total) return this.finish(s, res);
    incomplete();
  }

  private finish(s: Session, res: http.ServerResponse): void {
    const data = Buffer.concat(s.chunks);
    s.done = s.targetId ? this.store.update(s.targetId, s.meta, [], [], data) : this.store.create(s.meta, data, s.appId);
    s.chunks = [];
    sendJson(res, 200, this.fileOut(s.done, s.fields));
  }
}

function splitIds(v: string | null): string[] {
  return v ? v.split(',').filter(Boolean) : [];
}

function jsonBody(body: Buffer): FileMeta {
  if (!body.length) return {};
  return JSON.parse(body.toString('utf8')) as FileMeta;
}

/** multipart/related: a JSON metadata part, then the media part; binary-safe (Buffer search). */
export function parseMultipart(contentType: string, body: Buffer): { meta: FileMeta; data: Buffer } {
  const b = /boundary="?([^";]+)"?/i.exec(contentType)?.[1];
  if (!/^multipart\/related/i.test(contentType) || !b) throw new DriveError(400, 'badContent', 'Expected multipart/related with a boundary.');
  const delim = Buffer.from('--' + b);
  const parts: { headers: string; data: Buffer }[] = [];
  let pos = body.indexOf(delim);
  if (pos < 0) throw new DriveError(400, 'badContent', 'Boundary not found.');
  for (;;) {
    pos += delim.length;
    if (body.subarray(pos, pos + 2).toString() === '--') break;
    const hEnd = body.indexOf('\r\n\r\n', pos);
    if (hEnd < 0) throw new DriveError(400, 'badContent', 'Malformed multipart part.');
    const next = body.indexOf(Buffer.concat([Buffer.from('\r\n'), delim]), hEnd + 4);
    if (next < 0) throw new DriveError(400, 'badContent', 'Missing closing boundary.');
    parts.push({ headers: body.subarray(pos, hEnd).toString('latin1'), data: body.subarray(hEnd + 4, next) });
    pos = next + 2;
  }
  if (parts.length !== 2) throw new DriveError(400, 'badContent', `Expected 2 parts, got ${parts.length}.`);
  const meta = JSON.parse(parts[0]!.data.toString('utf8')) as FileMeta;
  const ct = /content-type:\s*([^\r\n]+)/i.exec(parts[1]!.headers)?.[1]?.trim();
  if (!meta.mimeType && ct) meta.mimeType = ct;
  return { meta, data: Buffer.from(parts[1]!.data) };
}

function readBody(req: http.IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function sendJson(res: http.ServerResponse, status: number, value: unknown): void {
  const s = JSON.stringify(value);
  res.writeHead(status, { 'content-type': 'application/json; charset=UTF-8', 'content-length': Buffer.byteLength(s) }).end(s);
}

/** Google's error envelope: {error: {code, message, errors: [{domain, reason, message}]}}. */
function sendError(res: http.ServerResponse, e: DriveError): void {
  if (res.headersSent) return void res.destroy();
  sendJson(res, e.status, { error: { code: e.status, message: e.message, errors: [{ domain: e.domain, reason: e.reason, message: e.message }] } });
}
