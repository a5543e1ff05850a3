/**
 * A loopback HTTP proxy in front of moto that counts S3 requests by operation (the bill counts
 * requests, so tests count them on the wire, not in our own code), injects error answers for the
 * next N requests, can damage one part's body in transit, rewrite answer headers (a server whose
 * answers the SDK cannot parse), and records which credentials signed each request. moto reports
 * the same fixed `Initiated` date (2010) for every multipart upload; the proxy reports when each
 * upload really started, as S3 does, so that age rules (the orphan grace period) can be tested.
 */
import http from 'node:http';
import { createHash } from 'node:crypto';
import type { AddressInfo } from 'node:net';

export function s3Operation(method: string, url: URL): string {
  const q = url.searchParams;
  const segs = url.pathname.split('/').filter(Boolean);
  const onBucket = segs.length <= 1;
  if (q.has('uploads')) return method === 'POST' ? 'CreateMultipartUpload' : 'ListMultipartUploads';
  if (q.has('partNumber') && method === 'PUT') return 'UploadPart';
  if (q.has('uploadId')) return method === 'POST' ? 'CompleteMultipartUpload' : method === 'DELETE' ? 'AbortMultipartUpload' : 'ListParts';
  if (q.has('attributes')) return 'GetObjectAttributes';
  if (q.has('restore')) return 'RestoreObject';
  if (onBucket) return method === 'HEAD' ? 'HeadBucket' : method === 'PUT' ? 'CreateBucket' : method === 'GET' ? 'ListObjects' : `${method}Bucket`;
  return method === 'HEAD' ? 'HeadObject' : method === 'PUT' ? 'PutObject' : method === 'GET' ? 'GetObject' : method === 'DELETE' ? 'DeleteObject' : method;
}

export class S3Proxy {
  readonly log: string[] = [];
  /** SHA-256 of each UploadPart body as received, next to the x-amz-content-sha256 it was signed with. */
  readonly partHashes: { body: string; signed: string }[] = [];
  private faults: { status: number; code: string }[] = [];
  private opFaults: { op: string; status: number; code: string }[] = [];
  /** Bytes of GetObject answers passed on (what a download costs in egress). */
  getBytes = 0;
  /** Slows every GetObject answer down (lets a test kill the client mid-download). */
  getDelayMs = 0;
  private corrupt = new Set<number>();
  /** UploadId -> when CreateMultipartUpload answered (ISO date). */
  private initiated = new Map<string, string>();
  /** Rewrites answers of one operation (e.g. a server that reports the wrong size). */
  rewrite?: { op: string; fn: (body: string) => string };
  /** Rewrites the answer headers of one operation (e.g. a Last-Modified date the SDK rejects). */
  rewriteHeaders?: { op: string; fn: (headers: http.IncomingHttpHeaders) => http.IncomingHttpHeaders };
  /** Access key id (SigV4 Credential=) and x-amz-security-token of each request, in order. */
  readonly signers: { accessKeyId: string; sessionToken?: string }[] = [];
  /** Slows every UploadPart answer down (lets a test kill the client mid-upload). */
  uploadDelayMs = 0;
  // A client killed mid-request (SIGKILL tests) resets its socket: not an error of the test.
  private server = http.createServer((req, res) => void this.handle(req, res).catch(() => res.destroy()));
  endpoint = '';

  constructor(private readonly target: string) {}

  async start(): Promise<this> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.endpoint = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server.close(() => r()));
  }

  private initiatedRewrite(op: string, then?: { op: string; fn: (body: string) => string }): { op: string; fn: (body: string) => string } {
    return {
      op,
      fn: (body) => {
        if (op === 'CreateMultipartUpload') {
          const id = /<UploadId>([^<]+)<\/UploadId>/.exec(body)?.[1];
          if (id) this.initiated.set(id, new Date().toISOString());
        } else {
          body = body.replace(/<Upload>[\s\S]*?<\/Upload>/g, (u) => {
            const at = this.initiated.get(/<UploadId>([^<]+)<\/UploadId>/.exec(u)?.[1] ?? '');
            return at ? u.replace(/<Initiated>[^<]*<\/Initiated>/, `<Initiated>${at}</Initiated>`) : u;
          });
        }
        return then?.op === op ? then.fn(body) : body;
      },
    };
  }

  count(op?: string): number {
    return op ? this.log.filter((o) => o === op).length : this.log.length;
  }

  counts(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const o of this.log) out[o] = (out[o] ?? 0) + 1;
    return out;
  }

  /** Counting starts again; requests that began before (a killed client's delayed GET) no longer count. */
  reset(): void {
    this.log.length = 0;
    this.getBytes = 0;
    this.generation++;
  }

  private generation = 0;

  /** The next `count` requests get this error instead of reaching moto. */
  fail(status: number, code: string, count = 1): void {
    for (let i = 0; i < count; i++) this.faults.push({ status, code });
  }

  /** The next `count` requests of operation `op` get this error (other operations pass). */
  failOn(op: string, status: number, code: string, count = 1): void {
    for (let i = 0; i < count; i++) this.opFaults.push({ op, status, code });
  }

  /** Forgets injected faults not used yet. */
  clearFaults(): void {
    this.faults.length = 0;
    this.opFaults.length = 0;
  }

  /** Flip one byte of the next upload of this part number. */
  corruptPart(partNumber: number): void {
    this.corrupt.add(partNumber);
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://x');
    const op = s3Operation(req.method ?? 'GET', url);
    const generation = this.generation;
    this.log.push(op);
    const key = /Credential=([^/,\s]+)\//.exec(String(req.headers.authorization ?? ''))?.[1];
    if (key) this.signers.push({ accessKeyId: key, sessionToken: req.headers['x-amz-security-token'] as string | undefined });
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    let body = Buffer.concat(chunks);
    if (op === 'UploadPart') {
      this.partHashes.push({ body: createHash('sha256').update(body).digest('hex'), signed: String(req.headers['x-amz-content-sha256']) });
    }
    const i = this.opFaults.findIndex((f) => f.op === op);
    const fault = i >= 0 ? this.opFaults.splice(i, 1)[0] : this.faults.shift();
    if (fault) {
      const xml = `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${fault.code}</Code><Message>injected</Message><RequestId>x</RequestId></Error>`;
      res.writeHead(fault.status, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(xml) });
      res.end(req.method === 'HEAD' ? undefined : xml);
      return;
    }
    const pn = Number(url.searchParams.get('partNumber'));
    if (op === 'UploadPart' && this.corrupt.has(pn) && body.length > 0) {
      this.corrupt.delete(pn);
      body = Buffer.from(body);
      body[Math.floor(body.length / 2)]! ^= 0xff;
    }
    if (op === 'UploadPart' && this.uploadDelayMs) await new Promise((r) => setTimeout(r, this.uploadDelayMs));
    if (op === 'GetObject' && this.getDelayMs) await new Promise((r) => setTimeout(r, this.getDelayMs));
    const t = new URL(this.target);
    const up = http.request(
      { host: t.hostname, port: t.port, method: req.method, path: req.url, headers: { ...req.headers, 'content-length': String(body.length) } },
      (r) => {
        if (this.rewriteHeaders?.op === op) r.headers = this.rewriteHeaders.fn({ ...r.headers });
        const rw = op === 'CreateMultipartUpload' || op === 'ListMultipartUploads' ? this.initiatedRewrite(op, this.rewrite) : this.rewrite;
        if (rw && rw.op === op) {
          const parts: Buffer[] = [];
          r.on('data', (c: Buffer) => parts.push(c));
          r.on('end', () => {
            const out = Buffer.from(rw.fn(Buffer.concat(parts).toString('utf8')));
            res.writeHead(r.statusCode ?? 502, { ...r.headers, 'content-length': String(out.length) });
            res.end(out);
          });
          return;
        }
        res.writeHead(r.statusCode ?? 502, r.headers);
        if (op === 'GetObject') r.on('data', (c: Buffer) => generation === this.generation && (this.getBytes += c.length));
        r.pipe(res);
      },
    );
    up.on('error', () => res.destroy());
    up.end(body);
  }
}
