import { describe, expect, it } from 'vitest';
import { displayPath, fromDisplayPath } from '../../storage/util/bytes-path.js';

const b = (...parts: (string | number[])[]) => Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'utf8') : Buffer.from(p))));

describe('names shown to people and typed back', () => {
  it('valid UTF-8 without control characters is shown as is, backslashes included', () => {
    expect(displayPath(b('/pics/back\\slash.jpg'))).toBe('/pics/back\\slash.jpg');
    expect(displayPath(b('/pics/家族 2021.jpg'))).toBe('/pics/家族 2021.jpg');
  });

  it('a newline or another control character never reaches the screen raw', () => {
    const shown = displayPath(b('/pics/two\nlines.jpg'));
    expect(shown).toBe('/pics/two\\x0alines.jpg');
    expect(shown).not.toContain('\n');
    expect(displayPath(b('/a\tb\x7f'))).toBe('/a\\x09b\\x7f');
  });

  it('invalid UTF-8 bytes are shown as \\xNN and a backslash in such a name as \\\\', () => {
    expect(displayPath(b('/caf', [0xe9], '.jpg'))).toBe('/caf\\xe9.jpg');
    expect(displayPath(b('/a\\', [0xff]))).toBe('/a\\\\\\xff');
    // The one look-alike: a valid name whose text is literally "\xe9" is shown as is; typed back, the
    // literal name is tried first, then the byte (fromDisplayPath below).
    expect(displayPath(b('/caf\\xe9.jpg'))).toBe(displayPath(b('/caf', [0xe9], '.jpg')));
  });

  it('fromDisplayPath gives back the bytes of every escaped form, the literal text first', () => {
    const names = [b('/caf', [0xe9], '.jpg'), b('/two\nlines'), b('/a\\', [0xff]), b('/x', [0xc3], '\\y')];
    for (const n of names) expect(fromDisplayPath(displayPath(n)).some((c) => c.equals(n))).toBe(true);
    expect(fromDisplayPath('/back\\slash.jpg')).toEqual([b('/back\\slash.jpg')]);
    expect(fromDisplayPath('/caf\\xe9.jpg')).toEqual([b('/caf\\xe9.jpg'), b('/caf', [0xe9], '.jpg')]);
  });
});
