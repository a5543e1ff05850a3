/**
 * A file over 4.5 GiB (sparse on disk, with distinct data around the 4 GiB extent boundary) goes
 * into the image as an ISO level 3 multi-extent file; every reader sees one file of the full size
 * and extracts it with the source SHA-256. One slow test: the image is written once, each tool
 * reads it once, extraction is hashed from the tools' stdout (no second 4.5 GB copy on disk).
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { parseIsoinfoLong, pseudoRandom, run, sha256File, tmpDir, writeVolume } from './helpers.js';
import { IsoReader } from '../../storage/iso/reader.js';

const BIG = 4.5 * 2 ** 30 + 12345;
const NAME = 'vid_4.5GiB_über.mp4';
let dir: string;
const bytes = (s: string) => Buffer.from(s).toString('latin1');

beforeAll(() => {
  dir = tmpDir('big');
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** SHA-256 of a tool's stdout. */
function hashOf(cmd: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'ignore'] });
    const h = createHash('sha256');
    p.stdout.on('data', (c: Buffer) => h.update(c));
    p.on('error', reject);
    p.on('close', (code) => (code === 0 ? resolve(h.digest('hex')) : reject(new Error(`${cmd} exited ${code}`))));
  });
}

it('a 4.5 GiB file: multi-extent records, listed and extracted whole by every reader', async () => {
  const src = path.join(dir, 'big.bin');
  const fd = fs.openSync(src, 'w');
  fs.ftruncateSync(fd, BIG);
  for (const pos of [0, 0xfffff800 - 300_000, BIG - 1_000_000]) fs.writeSync(fd, pseudoRandom(1_000_000, pos), 0, 1_000_000, pos);
  fs.closeSync(fd);
  const small = path.join(dir, 'small.txt');
  fs.writeFileSync(small, 'after the big one');
  const want = sha256File(src);

  const img = path.join(dir, 'big.iso');
  const rssBefore = process.memoryUsage().rss;
  const v = await writeVolume(
    [
      { path: bytes(`root/${NAME}`), source: src, size: BIG, mtimeMs: 1.7e12, mode: 0o644, kind: 'file' },
      { path: 'root/small.txt', source: small, size: 17, mtimeMs: 1.7e12, mode: 0o644, kind: 'file' },
    ],
    img,
  );
  expect(v.extents[0]!.length).toBe(2);
  expect(v.extents[0]!.reduce((s, e) => s + e.length, 0)).toBe(BIG);
  expect(fs.statSync(img).size).toBe(v.size);
  // Streaming 4.5 GiB must not grow memory with the image (buffers in flight only).
  expect(process.memoryUsage().rss - rssBefore).toBeLessThan(96 << 20);

  const full = `root/${NAME}`;
  const xorriso = run('xorriso', ['-indev', img, '-find', '/root', '-type', 'f', '-exec', 'lsdl']);
  expect(xorriso).toMatch(new RegExp(`\\s${BIG}\\s.*'/${full}'`));
  const rrListed = parseIsoinfoLong(run('isoinfo', ['-R', '-l', '-i', img])).filter((l) => l.path === full);
  expect(rrListed.reduce((s, l) => s + l.size, 0)).toBe(BIG); // isoinfo prints one line per extent
  const bsdtarList = run('bsdtar', ['-tvf', img]);
  expect(bsdtarList).toMatch(new RegExp(`\\s${BIG}\\s.*${full}`));
  const jListed = parseIsoinfoLong(run('isoinfo', ['-J', '-l', '-i', img], { encoding: 'latin1' })).filter((l) => l.path === full);
  expect(jListed.reduce((s, l) => s + l.size, 0)).toBe(BIG);
  expect(run('7z', ['l', img])).toMatch(new RegExp(`\\s${BIG}\\s+${BIG}\\s+${full}`));

  expect(await hashOf('bsdtar', ['-xOf', img, full])).toBe(want);
  expect(await hashOf('7z', ['x', '-so', img, full])).toBe(want);
  const r = await IsoReader.open(img);
  try {
    const e = (await r.find(bytes(full)))!;
    expect(e.size).toBe(BIG);
    const h = createHash('sha256');
    await r.read(e, (c) => void h.update(c));
    expect(h.digest('hex')).toBe(want);
    const s = (await r.find('root/small.txt'))!;
    expect(s.extents[0]!.offset).toBe(v.extents[1]![0]!.offset);
  } finally {
    await r.close();
  }
  fs.rmSync(img);
}, 600_000);
