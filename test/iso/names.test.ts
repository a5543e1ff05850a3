/** The Joliet and ISO 9660 naming rules of docs/iso-format.md, case by case. */
import { describe, expect, it } from 'vitest';
import { compareIdentifiers, isoNames, jolietNames, JOLIET_MAX } from '../../storage/iso/names.js';

const b = (s: string) => Buffer.from(s).toString('latin1');

describe('Joliet names', () => {
  it('keeps lossless names, even when a changed name would take them', () => {
    expect(jolietNames([b('a?.txt'), b('a_.txt')])).toEqual(['a_~1.txt', 'a_.txt']);
  });

  it('keeps names that differ only in case', () => {
    expect(jolietNames([b('IMG.JPG'), b('Img.jpg'), b('img.jpg')])).toEqual(['IMG.JPG', 'Img.jpg', 'img.jpg']);
  });

  it('replaces non-BMP, forbidden and non-UTF-8 characters with _', () => {
    expect(jolietNames([b('😀.png'), b('x*y:z;w\\v.txt'), 'caf\xe9.txt'])).toEqual(['_.png', 'x_y_z_w_v.txt', 'caf_.txt']);
  });

  it('cuts long names to 103 characters keeping the extension, and numbers collisions', () => {
    const long = 'a'.repeat(150);
    const out = jolietNames([b(`${long}1.jpeg`), b(`${long}2.jpeg`), b(`${long}3.jpeg`), b(`${long}.x${'y'.repeat(20)}`)]);
    expect(out[0]).toBe(`${'a'.repeat(98)}.jpeg`);
    expect(out[1]).toBe(`${'a'.repeat(96)}~1.jpeg`);
    expect(out[2]).toBe(`${'a'.repeat(96)}~2.jpeg`);
    expect(out[3]).toHaveLength(JOLIET_MAX); // a 21-character "extension" is not kept
    for (const n of out) expect(n.length).toBeLessThanOrEqual(JOLIET_MAX);
  });

  it('a hundred colliding emoji names stay unique', () => {
    const names = Array.from({ length: 100 }, (_, i) => b(`${String.fromCodePoint(0x1f600 + i)}.jpg`));
    const out = jolietNames(names);
    expect(new Set(out).size).toBe(100);
    expect(out[0]).toBe('_.jpg');
    expect(out[99]).toBe('_~99.jpg');
  });
});

describe('ISO 9660 names', () => {
  it('upper-case d-characters, 8-character extensions, ";1"-ready, unique', () => {
    const out = isoNames([
      { name: b('photo.jpeg'), isDir: false },
      { name: b('Photo.JPEG'), isDir: false },
      { name: b('my.dir.name'), isDir: true },
      { name: b('README'), isDir: false },
      { name: b('x'.repeat(40) + '.verylongextension'), isDir: false },
    ]);
    expect(out.slice(0, 4)).toEqual(['PHOTO.JPEG', 'PHOTO_1.JPEG', 'MY_DIR_NAME', 'README.']);
    expect(out[4]!.length).toBeLessThanOrEqual(31);
    for (const n of out) expect(n).toMatch(/^[A-Z0-9_.]+$/);
  });

  it('sorts as ECMA-119 9.3: name, then extension, padded with spaces', () => {
    expect(['AB.C', 'A.Z', 'A_.B', 'A.B'].sort(compareIdentifiers)).toEqual(['A.B', 'A.Z', 'AB.C', 'A_.B']);
  });
});
