import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pathToFileURL, fileURLToPath } from 'node:url';
import { assertSafeKey, TierError, type ByteRange, type ObjectStat, type PutOptions, type ReservedObject, type Tier } from './tier.js';

/**
 * Read size of `get` streams. Node's default (64 KiB) made a replicating sender hand 128 reads per
 * 8 MiB chunk to the thread pool, each waking a pool thread and a fresh buffer; 256 KiB is one
 * chunk-protocol frame (FRAME_BYTES), which the sender then passes on without gathering.
 */
export const GET_READ_BYTES = 256 * 1024;

/**
 * The file:// tier: objects as files under one folder (the embedded default `<data-dir>/objects`,
 * or a NAS mount). A key `a/b` is the file `<root>/a/b`. Writes go to a temporary name in the same
 * folder, are hashed while written, fsynced, checked against the expected size/SHA-256 and only
 * then renamed into place (and the folder fsynced), so a reader or a crash never sees half a chunk.
 */
export class FileTier implements Tier {
  readonly kind = 'file';
  readonly url: string;
  readonly root: string;

  constructor(rootOrUrl: string) {
    this.root = path.resolve(rootOrUrl.startsWith('file://') ? fileURLToPath(rootOrUrl) : rootOrUrl);
    this.url = pathToFileURL(this.root).href;
  }

  private file(key: string): string {
    assertSafeKey(key);
    return path.join(this.root, ...key.split('/'));
  }

  async put(key: string, body: Readable | Buffer, opts: PutOptions = {}): Promise<ObjectStat> {
    const file = this.file(key);
    const dir = path.dirname(file);
    try {
      await fs.promises.mkdir(dir, { recursive: true });
    } catch (e) {
      throw mapFsError(e, `cannot create ${dir}`);
    }
    if (Buffer.isBuffer(body) && opts.sha256) {
      // Idempotent: the same bytes under the same key are already there.
      const have = await this.head(key);
      if (have && have.size === body.length && (await this.hashOf(file)) === opts.sha256) return { ...have, sha256: opts.sha256 };
    }
    const tmp = path.join(dir, `.${path.basename(file)}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
    const hash = createHash('sha256');
    let size = 0;
    let fh: fs.promises.FileHandle | null = null;
    try {
      fh = await fs.promises.open(tmp, 'wx', 0o600);
      const chunks: AsyncIterable<Buffer> = Buffer.isBuffer(body) ? [body] as unknown as AsyncIterable<Buffer> : body;
      // A Buffer with its SHA-256 given was hashed by the caller over these very bytes (the object
      // writer does it in a worker); hashing it again here would cost a pass and prove nothing new.
      const trusted = Buffer.isBuffer(body) && opts.sha256 !== undefined;
      for await (const c of chunks) {
        opts.signal?.throwIfAborted();
        const b = Buffer.isBuffer(c) ? c : Buffer.from(c);
        if (!trusted) hash.update(b);
        // 256 KiB writes: on this kernel larger ones cost several times more system time per byte.
        let off = 0;
        while (off < b.length) off += (await fh.write(b, off, Math.min(b.length - off, 256 * 1024))).bytesWritten;
        size += b.length;
        opts.onProgress?.(size);
      }
      await fh.sync();
      await fh.close();
      fh = null;
      const sha256 = trusted ? opts.sha256! : hash.digest('hex');
      if (opts.size !== undefined && opts.size !== size) throw new TierError(`${this.url}/${key}: wrote ${size} bytes, expected ${opts.size}`, 'checksum');
      if (opts.sha256 && opts.sha256 !== sha256) throw new TierError(`${this.url}/${key}: SHA-256 ${sha256} does not match expected ${opts.sha256}`, 'checksum');
      await fs.promises.rename(tmp, file);
      await syncDir(dir);
      return { key, size, sha256, modifiedAt: new Date() };
    } catch (e) {
      await fh?.close().catch(() => {});
      await fs.promises.rm(tmp, { force: true });
      if (e instanceof TierError) throw e;
      throw mapFsError(e, `cannot write ${this.url}/${key}`);
    }
  }

  async reserve(key: string): Promise<ReservedObject> {
    const file = this.file(key);
    const dir = path.dirname(file);
    const tmp = path.join(dir, `.${path.basename(file)}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
    let fd: number;
    try {
      // Synchronous on purpose (microseconds on a local disk): the commits' fdatasyncs may keep
      // every thread of libuv's pool busy, and a writer waiting here behind them would stall.
      fs.mkdirSync(dir, { recursive: true });
      fd = fs.openSync(tmp, 'wx', 0o600);
    } catch (e) {
      throw mapFsError(e, `cannot write ${this.url}/${key}`);
    }
    let open = true;
    const close = () => {
      if (open) fs.closeSync(fd);
      open = false;
    };
    const url = this.url;
    return {
      fd,
      async commit({ size, sha256 }) {
        try {
          await new Promise<void>((resolve, reject) => fs.fdatasync(fd, (e) => (e ? reject(e) : resolve())));
          const st = fs.fstatSync(fd);
          close();
          if (st.size !== size) throw new TierError(`${url}/${key}: wrote ${st.size} bytes, expected ${size}`, 'checksum');
          await fs.promises.rename(tmp, file);
          return { key, size, sha256, modifiedAt: new Date() };
        } catch (e) {
          close();
          await fs.promises.rm(tmp, { force: true });
          if (e instanceof TierError) throw e;
          throw mapFsError(e, `cannot write ${url}/${key}`);
        }
      },
      async abort() {
        close();
        await fs.promises.rm(tmp, { force: true });
      },
    };
  }

  async syncPrefix(prefix: string): Promise<void> {
    const dir = this.file(prefix);
    if (fs.existsSync(dir)) await syncDir(dir);
    await syncDir(path.dirname(dir));
  }

  async purge(prefix: string): Promise<void> {
    try {
      await fs.promises.rm(this.file(prefix), { recursive: true, force: true });
    } catch (e) {
      throw mapFsError(e, `cannot remove ${this.url}/${prefix}`);
    }
  }

  async head(key: string): Promise<ObjectStat | null> {
    try {
      const st = await fs.promises.stat(this.file(key));
      return st.isFile() ? { key, size: st.size, modifiedAt: st.mtime } : null;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw mapFsError(e, `cannot stat ${this.url}/${key}`);
    }
  }

  async *list(prefix = ''): AsyncIterable<ObjectStat> {
    const walk = async function* (dir: string, rel: string): AsyncIterable<ObjectStat> {
      let entries: fs.Dirent[];
      try {
        entries = await fs.promises.readdir(dir, { withFileTypes: true });
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
        throw mapFsError(e, `cannot list ${dir}`);
      }
      entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
      for (const e of entries) {
        if (e.name.startsWith('.')) continue; // temporaries
        const key = rel ? `${rel}/${e.name}` : e.name;
        if (e.isDirectory()) yield* walk(path.join(dir, e.name), key);
        else if (e.isFile() && key.startsWith(prefix)) {
          const st = await fs.promises.stat(path.join(dir, e.name));
          yield { key, size: st.size, modifiedAt: st.mtime };
        }
      }
    };
    yield* walk(this.root, '');
  }

  async get(key: string, range?: ByteRange): Promise<Readable> {
    const file = this.file(key);
    let fh: fs.promises.FileHandle;
    try {
      fh = await fs.promises.open(file, 'r');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new TierError(`${this.url}/${key} not found`, 'not-found', e);
      throw mapFsError(e, `cannot read ${this.url}/${key}`);
    }
    if (range && (range.start < 0 || range.end < range.start)) throw new TierError(`bad range ${range.start}-${range.end}`, 'invalid');
    return fh.createReadStream(range ? { start: range.start, end: range.end, highWaterMark: GET_READ_BYTES } : { highWaterMark: GET_READ_BYTES });
  }

  async delete(key: string): Promise<void> {
    try {
      await fs.promises.rm(this.file(key), { force: true });
    } catch (e) {
      throw mapFsError(e, `cannot delete ${this.url}/${key}`);
    }
  }

  private async hashOf(file: string): Promise<string> {
    const h = createHash('sha256');
    for await (const c of fs.createReadStream(file)) h.update(c as Buffer);
    return h.digest('hex');
  }
}

async function syncDir(dir: string): Promise<void> {
  const d = await fs.promises.open(dir, 'r');
  try {
    await d.sync();
  } catch {
    // Some filesystems (e.g. certain NAS mounts) refuse fsync on folders; the rename still happened.
  } finally {
    await d.close();
  }
}

function mapFsError(e: unknown, what: string): TierError {
  const code = (e as NodeJS.ErrnoException).code;
  const kind = code === 'ENOSPC' || code === 'EDQUOT' ? 'quota' : code === 'EACCES' || code === 'EPERM' ? 'auth' : code === 'ENOENT' ? 'not-found' : 'unavailable';
  return new TierError(`${what}: ${(e as Error).message}`, kind, e);
}
