/**
 * The generated tree the ISO acceptance tests pack: long names, non-Latin and emoji names, names
 * differing only in case, a name that is not UTF-8, empty files and folders, 12 levels of folders,
 * and sizes around sector boundaries. JOLIET_EXPECTED says, by hand, what Joliet must call the
 * names it cannot keep (docs/iso-format.md, "Joliet names").
 */
import fs from 'node:fs';
import path from 'node:path';
import { pseudoRandom } from './helpers.js';

const L196 = 'L'.repeat(196);
const LM = 'L'.repeat(150) + 'M'.repeat(46);
export const DEEP = Array.from({ length: 12 }, (_, i) => `level${i + 1}`).join('/');

/** Original name (UTF-8 text, or a Buffer for the non-UTF-8 one) → its Joliet name when lossy. */
export const JOLIET_EXPECTED: Record<string, string> = {
  [`${L196}.jpg`]: `${'L'.repeat(99)}.jpg`,
  [`${LM}.jpg`]: `${'L'.repeat(97)}~1.jpg`,
  ['x'.repeat(200)]: 'x'.repeat(103),
  '😀 party.jpg': '_ party.jpg',
  '😁 party.jpg': '_ party~1.jpg',
  'Фото_日本語_😀.jpg': 'Фото_日本語__.jpg',
  'what?.txt': 'what_.txt',
  [Buffer.from('bad\xffname.bin', 'latin1').toString('latin1')]: 'bad_name.bin',
};

export function makeTree(root: string): void {
  const file = (rel: string | Buffer, data: Buffer | string) => {
    const abs = Buffer.isBuffer(rel) ? Buffer.concat([Buffer.from(root + '/'), rel]) : path.join(root, rel);
    fs.mkdirSync(path.dirname(abs.toString()), { recursive: true });
    fs.writeFileSync(abs, data);
  };
  file(`${L196}.jpg`, pseudoRandom(5000, 1));
  file(`${LM}.jpg`, pseudoRandom(3000, 2));
  file('x'.repeat(200), 'two hundred');
  file('😀 party.jpg', pseudoRandom(7000, 3));
  file('😁 party.jpg', pseudoRandom(7001, 4));
  file('Фото_日本語_😀.jpg', pseudoRandom(2048, 5));
  file('Ελληνικά/Кириллица/العربية.txt', 'مرحبا');
  file('what?.txt', 'q');
  file(Buffer.from('bad\xffname.bin', 'latin1'), pseudoRandom(10, 6));
  file('IMG_0001.JPG', 'upper');
  file('img_0001.jpg', 'lower');
  file('Img_0001.jpg', 'mixed');
  file('empty.txt', '');
  file('sub/empty2', '');
  fs.mkdirSync(path.join(root, 'empty-folder'), { recursive: true });
  fs.mkdirSync(path.join(root, 'nested/empty/inner-empty'), { recursive: true });
  file(`${DEEP}/deep.jpg`, pseudoRandom(4097, 7));
  for (const [i, size] of [1, 2047, 2048, 2049, 100_000, 1_500_000].entries()) file(`sizes/f${size}.bin`, pseudoRandom(size, 10 + i));
  // Fixed times so that mtimes (and so images) do not depend on when the tree was made.
  const stamp = (p: Buffer, i: number) => fs.utimesSync(p, 1_700_000_000 + i, 1_700_000_000 + i * 3600);
  let i = 0;
  const walk = (dir: Buffer) => {
    for (const n of (fs.readdirSync(dir, { encoding: 'buffer' }) as Buffer[]).sort(Buffer.compare)) {
      const p = Buffer.concat([dir, Buffer.from('/'), n]);
      if (fs.statSync(p).isDirectory()) walk(p);
      stamp(p, i++);
    }
  };
  walk(Buffer.from(root));
}
