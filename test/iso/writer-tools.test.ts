/**
 * Acceptance for the streaming writer: an image of the generated tree is read by xorriso, isoinfo,
 * bsdtar (Rock Ridge: every full name) and by isoinfo -J and 7z (Joliet: the documented names),
 * extracts byte-exact with bsdtar and 7z, reads back with our reader, and is deterministic.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { entriesFor, parseIsoinfoLong, run, sha256File, tmpDir, writeVolume } from './helpers.js';
import { makeTree, JOLIET_EXPECTED } from './tree.js';
import { IsoFormatError, IsoReader } from '../../storage/iso/reader.js';
import { buildVolume, SourceChangedError, type VolumeEntry } from '../../storage/iso/writer.js';
import { pumpToFile } from '../../storage/iso/pump.js';
import fsp from 'node:fs/promises';
import { createHash } from 'node:crypto';

const PREFIX = 'home_user_Pictures';
let dir: string;
let img: string;
let entries: VolumeEntry[];
/** Every path in the image (byte strings), files with their SHA-256, folders with null. */
const expected = new Map<string, string | null>();

const utf8 = (bytes: string) => Buffer.from(bytes, 'latin1').toString('utf8');
const jolietOf = (bytes: string) =>
  bytes.split('/').map((c) => JOLIET_EXPECTED[utf8(c)] ?? JOLIET_EXPECTED[c] ?? utf8(c)).join('/');
const files = () => [...expected].filter(([, h]) => h !== null);

beforeAll(async () => {
  dir = tmpDir('tools');
  makeTree(path.join(dir, 'tree'));
  entries = entriesFor(path.join(dir, 'tree'), PREFIX);
  for (const e of entries) {
    const parts = e.path.split('/');
    for (let i = 1; i < parts.length; i++) expected.set(parts.slice(0, i).join('/'), null);
    expected.set(e.path, e.kind === 'file' ? sha256File(e.source as Buffer) : null);
  }
  img = path.join(dir, 'a.iso');
  await writeVolume(entries, img);
});

afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('Rock Ridge readers list every file under its full name', () => {
  it('xorriso -indev', () => {
    const out = run('xorriso', ['-indev', img, '-find', '/', '-exec', 'lsdl'], { encoding: 'latin1' });
    const paths = out.split('\n').map((l) => /'\/(.*)'$/.exec(l)?.[1]).filter((p): p is string => !!p);
    expect(new Set(paths)).toEqual(new Set(expected.keys()));
  });

  it('isoinfo -R -l (names and sizes)', () => {
    const listed = parseIsoinfoLong(run('isoinfo', ['-R', '-l', '-i', img], { encoding: 'latin1' }));
    expect(new Set(listed.map((l) => l.path))).toEqual(new Set(expected.keys()));
    const sizes = new Map(entries.map((e) => [e.path, e.size]));
    for (const l of listed) if (!l.isDir) expect(l.size, l.path).toBe(sizes.get(l.path));
  });

  it('bsdtar -tf', () => {
    const out = run('bsdtar', ['-tf', img], { encoding: 'latin1' });
    const paths = out.split('\n').filter((l) => l && l !== '.').map((l) => l.replace(/\/$/, ''))
      .map((l) => l.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)))); // bsdtar escapes non-UTF-8 bytes
    expect(new Set(paths)).toEqual(new Set(expected.keys()));
  });
});

describe('Joliet readers list every file under its documented Joliet name', () => {
  const jolietSet = () => new Set([...expected.keys()].map(jolietOf));

  it('7z l shows the exact Joliet names: unique, at most 103 characters', () => {
    const out = run('7z', ['l', '-slt', img]);
    const paths = out.split('\n').filter((l) => l.startsWith('Path = ')).map((l) => l.slice(7)).filter((p) => p !== img);
    expect(new Set(paths)).toEqual(jolietSet());
    expect(paths.length).toBe(expected.size); // none merged
    for (const p of paths) for (const c of p.split('/')) expect(c.length).toBeLessThanOrEqual(103);
  });

  it('isoinfo -J -l (it prints characters beyond Latin-1 as _)', () => {
    const listed = parseIsoinfoLong(run('isoinfo', ['-J', '-l', '-i', img], { encoding: 'latin1' }));
    const latin1 = (s: string) => [...s].map((ch) => (ch.charCodeAt(0) < 256 ? ch : '_')).join('');
    expect(new Set(listed.map((l) => l.path))).toEqual(new Set([...jolietSet()].map(latin1)));
    expect(listed.length).toBe(expected.size);
  });
});

describe('extraction gives every file with the source SHA-256', () => {
  it('bsdtar -xf', () => {
    const out = path.join(dir, 'x-bsdtar');
    fs.mkdirSync(out);
    run('bsdtar', ['-xf', img, '-C', out]);
    for (const [p, h] of files()) expect(sha256File(Buffer.concat([Buffer.from(out + '/'), Buffer.from(p, 'latin1')])), utf8(p)).toBe(h);
    for (const [p, h] of expected) if (h === null) expect(fs.statSync(Buffer.concat([Buffer.from(out + '/'), Buffer.from(p, 'latin1')])).isDirectory()).toBe(true);
  });

  it('7z x (Joliet names)', () => {
    const out = path.join(dir, 'x-7z');
    run('7z', ['x', `-o${out}`, img]);
    for (const [p, h] of files()) expect(sha256File(path.join(out, jolietOf(p))), jolietOf(p)).toBe(h);
  });

  it('our reader (Rock Ridge and Joliet)', async () => {
    const r = await IsoReader.open(img);
    try {
      expect(r.names).toBe('rockridge');
      const listed = await r.list();
      expect(new Set(listed.map((e) => e.path))).toEqual(new Set(expected.keys()));
      const out = path.join(dir, 'x-ours');
      fs.mkdirSync(out);
      for (const e of listed.filter((x) => !x.isDir)) {
        const hash = await r.extract(e, path.join(out, 'f'));
        expect(hash.toString('hex'), utf8(e.path)).toBe(expected.get(e.path));
      }
    } finally {
      await r.close();
    }
    const j = await IsoReader.open(img, 'joliet');
    try {
      expect(new Set((await j.list()).map((e) => utf8(e.path)))).toEqual(new Set([...expected.keys()].map(jolietOf)));
    } finally {
      await j.close();
    }
  });
});

it('two runs over the same files give byte-identical images', async () => {
  const again = path.join(dir, 'b.iso');
  await writeVolume(entries, again);
  expect(sha256File(again)).toBe(sha256File(img));
  fs.rmSync(again);
});

it('the ring-buffer pump (iso create) writes the same bytes as the stream, with small buffers too', async () => {
  for (const [bufferSize, buffers] of [[4 << 20, 4], [6144, 2], [2048 * 3 + 0, 3]] as const) {
    const out = path.join(dir, `pump-${bufferSize}.iso`);
    const vol = buildVolume(entries);
    const fh = await fsp.open(out, 'w');
    const hash = createHash('sha256');
    const n = await pumpToFile(vol.cursor, fh, { bufferSize, buffers, onChunk: (c) => void hash.update(c) });
    await fh.close();
    expect(n).toBe(vol.size);
    expect(hash.digest('hex')).toBe(sha256File(img));
    expect(sha256File(out)).toBe(sha256File(img));
    fs.rmSync(out);
  }
});

it('a source file that shrank fails the image with SourceChangedError', async () => {
  const src = path.join(dir, 'shrinks.bin');
  fs.writeFileSync(src, Buffer.alloc(10_000, 7));
  const vol = buildVolume([{ path: 'x/shrinks.bin', source: src, size: 20_000, mtimeMs: 0, mode: 0o644, kind: 'file' }]);
  const fh = await fsp.open(path.join(dir, 'bad.iso'), 'w');
  await expect(pumpToFile(vol.cursor, fh)).rejects.toBeInstanceOf(SourceChangedError);
  await fh.close();
  await expect(writeVolume([{ path: 'x/gone.bin', source: path.join(dir, 'gone'), size: 5, mtimeMs: 0, mode: 0o644, kind: 'file' }], path.join(dir, 'bad2.iso'))).rejects.toThrow(/cannot read .*gone: ENOENT/);
});

it('the reader rejects corrupt and truncated images with IsoFormatError', async () => {
  const bad = path.join(dir, 'corrupt.iso');
  const data = fs.readFileSync(img);
  data.writeUInt32LE(0x7fffffff, 16 * 2048 + 156 + 10); // root directory "length" in the PVD
  fs.writeFileSync(bad, data);
  const r = await IsoReader.open(bad);
  await expect(r.list()).rejects.toBeInstanceOf(IsoFormatError);
  await r.close();
  fs.writeFileSync(bad, data.subarray(0, 17 * 2048 + 100));
  await expect(IsoReader.open(bad)).rejects.toBeInstanceOf(IsoFormatError);
  fs.writeFileSync(bad, Buffer.alloc(40 * 2048));
  await expect(IsoReader.open(bad)).rejects.toThrow(/not an ISO 9660 image/);
});
