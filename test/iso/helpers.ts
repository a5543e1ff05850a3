/** Shared helpers for the ISO tests: generated trees, tool runners, hashing. */
import { spawnSync } from 'node:child_process';
import { createCipheriv, createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { buildVolume, type VolumeEntry } from '../../storage/iso/writer.js';

export function tmpDir(tag: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `lomo-iso-${tag}-`));
}

/** Runs a tool; returns stdout as a byte string (latin1) or utf8 text; throws with stderr on failure. */
export function run(cmd: string, args: string[], opts: { encoding?: 'utf8' | 'latin1'; cwd?: string } = {}): string {
  const r = spawnSync(cmd, args, { cwd: opts.cwd, maxBuffer: 256 << 20 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}): ${r.stderr?.toString()}`);
  return r.stdout.toString(opts.encoding ?? 'utf8');
}

export function sha256File(file: string | Buffer): string {
  const h = createHash('sha256');
  const fd = fs.openSync(file, 'r');
  const buf = Buffer.allocUnsafe(4 << 20);
  try {
    for (;;) {
      const n = fs.readSync(fd, buf, 0, buf.length, null);
      if (n === 0) break;
      h.update(buf.subarray(0, n));
    }
  } finally {
    fs.closeSync(fd);
  }
  return h.digest('hex');
}

export const sha256 = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

/** Deterministic pseudo-random bytes (AES-CTR keystream of a seed), the same on every run. */
export function pseudoRandom(len: number, seed: number): Buffer {
  const key = createHash('sha256').update(`lomo-iso-${seed}`).digest().subarray(0, 16);
  return createCipheriv('aes-128-ctr', key, Buffer.alloc(16)).update(Buffer.alloc(len));
}

/**
 * Volume entries for every file and empty folder under `root` (sorted by path bytes), with image
 * paths under `prefix`. Names are read as raw bytes.
 */
export function entriesFor(root: string, prefix: string): VolumeEntry[] {
  const out: VolumeEntry[] = [];
  const walk = (rel: Buffer) => {
    const abs = Buffer.concat([Buffer.from(root + '/'), rel]);
    const names = (fs.readdirSync(abs, { encoding: 'buffer' }) as Buffer[]).sort(Buffer.compare);
    if (names.length === 0 && rel.length > 0) {
      const st = fs.statSync(abs);
      out.push({ path: prefix + '/' + rel.toString('latin1'), size: 0, mtimeMs: st.mtimeMs, mode: st.mode, kind: 'dir' });
    }
    for (const n of names) {
      const r = rel.length ? Buffer.concat([rel, Buffer.from('/'), n]) : n;
      const a = Buffer.concat([Buffer.from(root + '/'), r]);
      const st = fs.statSync(a);
      if (st.isDirectory()) walk(r);
      else out.push({ path: prefix + '/' + r.toString('latin1'), source: a, size: st.size, mtimeMs: st.mtimeMs, mode: st.mode, kind: 'file' });
    }
  };
  walk(Buffer.alloc(0));
  return out;
}

/** Writes a volume to `file` through the streaming writer; resolves with its extents. */
export async function writeVolume(entries: VolumeEntry[], file: string, opts: Parameters<typeof buildVolume>[1] = {}) {
  const v = buildVolume(entries, opts);
  const out = fs.createWriteStream(file);
  await new Promise<void>((resolve, reject) => {
    v.stream.on('error', reject);
    out.on('error', reject);
    out.on('finish', resolve);
    v.stream.pipe(out);
  });
  return v;
}

/** Paths listed by `isoinfo -l` (one "Directory listing of /dir/" header per folder). */
export function parseIsoinfoLong(text: string): { path: string; size: number; isDir: boolean }[] {
  const out: { path: string; size: number; isDir: boolean }[] = [];
  let dir = '/';
  for (const line of text.split('\n')) {
    const h = /^Directory listing of (.*)$/.exec(line);
    if (h) {
      dir = h[1]!;
      continue;
    }
    // isoinfo prints the flags byte sign-extended ("FFFF" for a multi-extent record), without "]".
    const m = /^([d-])\S{9}\s+\d+\s+\d+\s+\d+\s+(\d+)\s.*?\[\s*\d+ (?:[0-9A-F]{2}\]|[0-9A-F]{3,}) {1,2}(.*) $/.exec(line);
    if (!m || m[3] === '.' || m[3] === '..') continue;
    out.push({ path: (dir + m[3]).replace(/^\//, ''), size: Number(m[2]), isDir: m[1] === 'd' });
  }
  return out;
}
