import { describe, expect, it, beforeAll, afterAll } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { placeFile, PlaintextMismatchError, UnsafePathError } from '../../storage/objects/restore.js';
import { filesUnder } from '../support/files.js';

let tmp: string;
beforeAll(() => (tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lomo-place-'))));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const sha = (s: string) => createHash('sha256').update(s).digest();
const produce = (text: string) => async (write: (b: Buffer) => Promise<void>) => write(Buffer.from(text));

describe('placing restored files', () => {
  it('never writes outside --to, whatever the stored name says', async () => {
    const to = path.join(tmp, 'to1');
    fs.mkdirSync(to);
    for (const bad of ['../escape', 'a/../../escape', '/../escape', 'a/./b', 'nul\0x']) {
      await expect(placeFile(to, Buffer.from(bad), {}, produce('x'))).rejects.toBeInstanceOf(UnsafePathError);
    }
    expect(fs.readdirSync(tmp).sort()).toEqual(['to1']);
    expect(filesUnder(to)).toEqual([]);
    // An absolute library path lands under --to.
    const final = await placeFile(to, Buffer.from('/home/me/a.jpg'), { sha256: sha('data') }, produce('data'));
    expect(final.toString()).toBe(path.join(fs.realpathSync(to), 'home/me/a.jpg'));
  });

  it('a backslash is an ordinary character of a Linux name: placed as one file inside --to', async () => {
    const to = path.join(tmp, 'to-bs');
    fs.mkdirSync(to);
    for (const name of ['back\\slash.jpg', 'a\\..\\b']) {
      const final = await placeFile(to, Buffer.from(`/pics/${name}`), { sha256: sha(name) }, produce(name));
      expect(final.toString()).toBe(path.join(fs.realpathSync(to), 'pics', name));
      expect(fs.readFileSync(final, 'utf8')).toBe(name);
    }
    expect(fs.readdirSync(path.join(to, 'pics')).sort()).toEqual(['a\\..\\b', 'back\\slash.jpg']);
    expect(fs.readdirSync(tmp).filter((n) => n.startsWith('to-bs'))).toEqual(['to-bs']);
  });

  it('does not follow a symlink planted inside --to', async () => {
    const to = path.join(tmp, 'to2');
    const outside = path.join(tmp, 'outside');
    fs.mkdirSync(to);
    fs.mkdirSync(outside);
    fs.symlinkSync(outside, path.join(to, 'home'));
    await expect(placeFile(to, Buffer.from('home/x.jpg'), {}, produce('x'))).rejects.toBeInstanceOf(UnsafePathError);
    expect(fs.readdirSync(outside)).toEqual([]);
  });

  it('keeps nothing when the bytes do not match, and keeps non-UTF-8 names exact', async () => {
    const to = path.join(tmp, 'to3');
    fs.mkdirSync(to);
    await expect(placeFile(to, Buffer.from('new/dir/f.txt'), { sha256: sha('expected') }, produce('tampered'))).rejects.toBeInstanceOf(PlaintextMismatchError);
    expect(fs.readdirSync(to)).toEqual([]); // folders this restore made are gone too
    const name = Buffer.concat([Buffer.from('caf'), Buffer.from([0xe9]), Buffer.from('.jpg')]); // latin-1 byte, invalid UTF-8
    const final = await placeFile(to, name, { sha256: sha('ok'), size: 2 }, produce('ok'));
    expect(fs.readFileSync(final).toString()).toBe('ok');
    expect(fs.readdirSync(to, { encoding: 'buffer' })[0]!.equals(name)).toBe(true);
  });
});
