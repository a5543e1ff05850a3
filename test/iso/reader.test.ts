/**
 * Our reader against images we did not write: `genisoimage -R -J` and `xorriso -as mkisofs -R -J`
 * of the same tree must list as isoinfo lists them (Rock Ridge and Joliet), and extract exactly.
 * genisoimage relocates folders deeper than 8 levels (rr_moved, CL/RE); isoinfo shows that raw
 * layout while our reader, like bsdtar and the Linux kernel, follows it: the deep tree is checked
 * against bsdtar.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { parseIsoinfoLong, pseudoRandom, run, sha256, tmpDir } from './helpers.js';
import { IsoReader } from '../../storage/iso/reader.js';

let dir: string;
const tree = () => path.join(dir, 'tree');
const deep = () => path.join(dir, 'deep');
const contents = new Map<string, Buffer>();

beforeAll(() => {
  dir = tmpDir('reader');
  const put = (rel: string, data: Buffer) => {
    fs.mkdirSync(path.dirname(path.join(tree(), rel)), { recursive: true });
    fs.writeFileSync(path.join(tree(), rel), data);
    contents.set(Buffer.from(rel).toString('latin1'), data);
  };
  put('Ünïcödé/日本語の写真.jpg', pseudoRandom(70_000, 1));
  put('Ελληνικά/Кириллица.txt', Buffer.from('кириллица'));
  put('a/b/c/d/e/f/g/seven.bin', pseudoRandom(4096, 2));
  put(`long/${'n'.repeat(60)}.jpeg`, pseudoRandom(100, 3));
  put('Case.txt', Buffer.from('C'));
  put('case.txt', Buffer.from('c'));
  put('empty', Buffer.alloc(0));
  fs.mkdirSync(path.join(tree(), 'empty-dir'));
  fs.mkdirSync(path.join(deep(), Array.from({ length: 12 }, (_, i) => `d${i}`).join('/')), { recursive: true });
  fs.writeFileSync(path.join(deep(), Array.from({ length: 12 }, (_, i) => `d${i}`).join('/'), 'leaf.txt'), 'leaf');
});

afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const makers: Record<string, (src: string, out: string) => void> = {
  'genisoimage -R -J': (src, out) => run('genisoimage', ['-quiet', '-input-charset', 'utf-8', '-R', '-J', '-o', out, src]),
  'xorriso -as mkisofs -R -J': (src, out) => run('xorriso', ['-as', 'mkisofs', '-quiet', '-R', '-J', '-o', out, src]),
};

describe.each(Object.keys(makers))('%s', (maker) => {
  it('lists like isoinfo -R -l and isoinfo -J -l, and extracts exactly', async () => {
    const img = path.join(dir, `${maker.split(' ')[0]}.iso`);
    makers[maker]!(tree(), img);
    const rr = await IsoReader.open(img);
    try {
      expect(rr.names).toBe('rockridge');
      const ours = (await rr.list()).map((e) => ({ path: e.path, size: e.size, isDir: e.isDir }));
      const theirs = parseIsoinfoLong(run('isoinfo', ['-R', '-l', '-i', img], { encoding: 'latin1' }));
      expect(sortByPath(ours)).toEqual(sortByPath(theirs));
      for (const e of await rr.list()) {
        if (e.isDir) continue;
        const chunks: Buffer[] = [];
        await rr.read(e, (c) => void chunks.push(c));
        expect(sha256(Buffer.concat(chunks)), e.path).toBe(sha256(contents.get(e.path)!));
      }
    } finally {
      await rr.close();
    }
    const j = await IsoReader.open(img, 'joliet');
    try {
      expect(j.names).toBe('joliet');
      // isoinfo prints Joliet names in Latin-1, with '_' for what Latin-1 cannot show.
      const latin1 = (bytes: string) => [...Buffer.from(bytes, 'latin1').toString('utf8')].map((c) => (c.charCodeAt(0) < 256 ? c : '_')).join('');
      const ours = (await j.list()).map((e) => ({ path: latin1(e.path), size: e.size, isDir: e.isDir }));
      const theirs = parseIsoinfoLong(run('isoinfo', ['-J', '-l', '-i', img], { encoding: 'latin1' }));
      expect(sortByPath(ours)).toEqual(sortByPath(theirs));
    } finally {
      await j.close();
    }
  });

  it('follows a tree 12 levels deep as bsdtar does', async () => {
    const img = path.join(dir, `${maker.split(' ')[0]}-deep.iso`);
    makers[maker]!(deep(), img);
    const r = await IsoReader.open(img);
    try {
      const ours = (await r.list()).map((e) => e.path).sort();
      const theirs = run('bsdtar', ['-tf', img]).split('\n').filter((l) => l && l !== '.').map((l) => l.replace(/\/$/, '')).sort();
      expect(ours).toEqual(theirs);
      expect(ours).toContain(Array.from({ length: 12 }, (_, i) => `d${i}`).join('/') + '/leaf.txt');
    } finally {
      await r.close();
    }
  });
});

function sortByPath<T extends { path: string }>(a: T[]): T[] {
  return [...a].sort((x, y) => (x.path < y.path ? -1 : x.path > y.path ? 1 : 0));
}

it('an image with Joliet and no Rock Ridge is read through Joliet automatically', async () => {
  const img = path.join(dir, 'joliet-only.iso');
  run('genisoimage', ['-quiet', '-input-charset', 'utf-8', '-J', '-o', img, tree()]);
  const r = await IsoReader.open(img);
  try {
    expect(r.names).toBe('joliet');
    const latin1 = (bytes: string) => [...Buffer.from(bytes, 'latin1').toString('utf8')].map((c) => (c.charCodeAt(0) < 256 ? c : '_')).join('');
    const ours = (await r.list()).map((e) => ({ path: latin1(e.path), size: e.size, isDir: e.isDir }));
    expect(sortByPath(ours)).toEqual(sortByPath(parseIsoinfoLong(run('isoinfo', ['-J', '-l', '-i', img], { encoding: 'latin1' }))));
    const e = (await r.find(Buffer.from('Ünïcödé/日本語の写真.jpg').toString('latin1')))!;
    const chunks: Buffer[] = [];
    await r.read(e, (c) => void chunks.push(c));
    expect(sha256(Buffer.concat(chunks))).toBe(sha256(contents.get(Buffer.from('Ünïcödé/日本語の写真.jpg').toString('latin1'))!));
  } finally {
    await r.close();
  }
});
