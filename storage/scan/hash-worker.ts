/**
 * Hashing worker: reads files with large sequential reads and returns each one's SHA-256 together
 * with the file's identity before and after reading, so the scanner can tell a file that changed
 * while it was being read. Runs in a worker thread so hashing uses every core while the main
 * thread walks folders and writes the catalog.
 *
 * With the project's SHA-256 addon (storage/crypto/sha256x2.ts) a worker hashes TWO files at once,
 * interleaved on its one core: one SHA-256 stream is a chain of dependent instructions, and a second
 * independent one fills the gaps (docs/scan.md "Performance": the scan's CPU time drops by about a
 * third, which is what lets it keep up with parallel `openssl dgst`). Without the addon (or with
 * LOMO_SHA256X2=off) it hashes one file at a time with node:crypto; the digests are the same.
 */
import { parentPort, receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import { createHash, type Hash } from 'node:crypto';
import fs from 'node:fs';
import { loadSha256x2, SHA256X2_STATE_BYTES, type Sha256x2 } from '../crypto/sha256x2.js';

export interface HashRequest {
  id: number;
  path: Uint8Array;
}

export interface FileIdentity {
  size: number;
  mtimeMs: number;
  ino: number;
  dev: number;
}

/** Sent while a big file is being read: bytes read since the last report. */
export interface HashProgress {
  progress: number;
}

export type HashReply =
  | { id: number; ok: true; sha256: Uint8Array; bytesRead: number; reported: number; before: FileIdentity; after: FileIdentity }
  | { id: number; ok: false; code: string; message: string };

/** Read size. Measured on the bench tree, 64 KiB-1 MiB cost the same CPU; 1 MiB makes the fewest syscalls. */
const BUF_SIZE = 1 << 20;
/** Big files report progress every this many bytes, so a progress bar keeps moving on a 4 GB video. */
const PROGRESS_EVERY = 32 << 20;

function identity(st: fs.Stats): FileIdentity {
  return { size: st.size, mtimeMs: st.mtimeMs, ino: st.ino, dev: st.dev };
}

function failure(id: number, err: unknown): HashReply {
  const e = err as NodeJS.ErrnoException;
  return { id, ok: false, code: e.code ?? 'EUNKNOWN', message: e.message };
}

/** One SHA-256 in progress: the addon's state or node:crypto's Hash. */
interface Digest {
  update(data: Uint8Array): void;
  digest(): Uint8Array;
}

function newDigest(x2: Sha256x2 | null): Digest & { state?: Uint8Array } {
  if (!x2) {
    const h: Hash = createHash('sha256');
    return { update: (d) => h.update(d), digest: () => h.digest() };
  }
  const state = new Uint8Array(SHA256X2_STATE_BYTES);
  x2.init(state);
  return { state, update: (d) => x2.update(state, d), digest: () => x2.digest(state) };
}

/** Where a file's reply goes: its batch is answered in one message once all its files are done. */
interface Batch {
  replies: HashReply[];
  left: number;
}

/** A file being read. */
interface Open {
  req: HashRequest;
  batch: Batch;
  fd: number;
  before: FileIdentity;
  digest: Digest & { state?: Uint8Array };
  total: number;
  reported: number;
}

/**
 * Hashes every file it is given, `lanes` files at a time (2 with the addon, else 1), and answers each
 * batch when its last file is done. `more()` pulls the next batch that already arrived, if any, so a
 * lane that frees up starts on the next batch's file instead of idling until its own batch ends.
 */
export class LaneHasher {
  private readonly lanes: (Open | null)[];
  private readonly bufs: Buffer[];
  private readonly queue: { req: HashRequest; batch: Batch }[] = [];

  constructor(
    private readonly x2: Sha256x2 | null,
    private readonly reply: (msg: HashReply[] | HashProgress) => void,
    private readonly more: () => HashRequest[] | undefined,
  ) {
    const n = x2 ? 2 : 1;
    this.lanes = new Array<Open | null>(n).fill(null);
    this.bufs = Array.from({ length: n }, () => Buffer.allocUnsafe(BUF_SIZE));
  }

  add(requests: HashRequest[]): void {
    const batch: Batch = { replies: [], left: requests.length };
    if (requests.length === 0) this.reply([]);
    for (const req of requests) this.queue.push({ req, batch });
  }

  /** Runs until every file given so far (and every batch that arrives meanwhile) is answered. */
  run(): void {
    for (;;) {
      for (let i = 0; i < this.lanes.length; i++) if (!this.lanes[i]) this.lanes[i] = this.open();
      if (this.lanes.every((l) => !l)) return;
      // One read per busy lane, then one (interleaved) hashing pass over what was read.
      const got: number[] = [];
      for (let i = 0; i < this.lanes.length; i++) got.push(this.read(i));
      const a = this.lanes[0];
      const b = this.lanes[1];
      if (this.x2 && a && b && got[0]! > 0 && got[1]! > 0) {
        this.x2.update2(a.digest.state!, this.bufs[0]!.subarray(0, got[0]), b.digest.state!, this.bufs[1]!.subarray(0, got[1]));
      } else {
        for (let i = 0; i < this.lanes.length; i++) if (got[i]! > 0) this.lanes[i]!.digest.update(this.bufs[i]!.subarray(0, got[i]));
      }
      for (let i = 0; i < this.lanes.length; i++) {
        const l = this.lanes[i];
        if (!l || got[i] === 0) continue;
        if (l.total - l.reported >= PROGRESS_EVERY) {
          this.reply({ progress: l.total - l.reported });
          l.reported = l.total;
        }
        // Read up to the size it had when opened: done, unless it grew meanwhile (then read on to the end).
        if (l.total >= l.before.size) this.complete(i, false);
      }
    }
  }

  /** Opens the next file (from the queue, else from a batch that already arrived); null when there is none. */
  private open(): Open | null {
    for (;;) {
      if (this.queue.length === 0) {
        const next = this.more();
        if (!next) return null;
        this.add(next);
        continue;
      }
      const { req, batch } = this.queue.shift()!;
      let fd: number | undefined;
      try {
        fd = fs.openSync(Buffer.from(req.path), fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
        const before = identity(fs.fstatSync(fd));
        return { req, batch, fd, before, digest: newDigest(this.x2), total: 0, reported: 0 };
      } catch (err) {
        if (fd !== undefined) fs.closeSync(fd);
        this.finish(batch, failure(req.id, err));
      }
    }
  }

  /** Reads the next chunk of lane i's file (0 at its end or on an error, which also answer it). */
  private read(i: number): number {
    const l = this.lanes[i];
    if (!l) return 0;
    try {
      const n = fs.readSync(l.fd, this.bufs[i]!, 0, BUF_SIZE, null);
      if (n > 0) {
        l.total += n;
        return n;
      }
    } catch (err) {
      this.close(i, failure(l.req.id, err));
      return 0;
    }
    this.complete(i, true);
    return 0;
  }

  /**
   * Answers lane i's file once all of it is hashed: read to its end (`atEnd`), or read up to the
   * size it had when opened and still that size now. Skipping the read that would return 0 keeps
   * the two lanes in step (both start their next files together) and saves a syscall per file; the
   * scanner's check is the same either way (the size and mtime before and after, and bytes read =
   * size after).
   */
  private complete(i: number, atEnd: boolean): void {
    const l = this.lanes[i]!;
    let reply: HashReply;
    try {
      const after = identity(fs.fstatSync(l.fd));
      if (!atEnd && after.size > l.total) return; // it grew: read on
      reply = { id: l.req.id, ok: true, sha256: l.digest.digest(), bytesRead: l.total, reported: l.reported, before: l.before, after };
    } catch (err) {
      reply = failure(l.req.id, err);
    }
    this.close(i, reply);
  }

  private close(i: number, reply: HashReply): void {
    const l = this.lanes[i]!;
    fs.closeSync(l.fd);
    this.lanes[i] = null;
    this.finish(l.batch, reply);
  }

  private finish(batch: Batch, reply: HashReply): void {
    batch.replies.push(reply);
    if (--batch.left === 0) this.reply(batch.replies);
  }
}

if (parentPort) {
  const port: MessagePort = parentPort;
  const hasher = new LaneHasher(
    loadSha256x2(),
    (msg) => port.postMessage(msg),
    () => receiveMessageOnPort(port)?.message as HashRequest[] | undefined,
  );
  port.on('message', (batch: HashRequest[]) => {
    hasher.add(batch);
    hasher.run();
  });
}
