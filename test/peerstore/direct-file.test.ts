import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DIRECT_ALIGN, DIRECT_BUFFER_BYTES, DIRECT_BUFFERS, DirectFile } from '../../storage/peerstore/direct-file.js';
import { seeded } from '../support/random.js';

const random = seeded('peerstore/direct-file.test.ts');

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lomo-direct-file-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** Whether the folder's file system takes O_DIRECT at all (ext4 and tmpfs here do; some do not). */
function folderTakesODirect(folder: string): boolean {
  try {
    fs.closeSync(fs.openSync(path.join(folder, '.probe'), fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_DIRECT));
    return true;
  } catch {
    return false;
  } finally {
    fs.rmSync(path.join(folder, '.probe'), { force: true });
  }
}

/** `bytes` cut into pieces of the given sizes (repeated), written as one write of several arrays each time. */
async function writeInPieces(file: DirectFile, bytes: Buffer, pieceSizes: number[]): Promise<void> {
  let off = 0;
  for (let i = 0; off < bytes.length; i++) {
    const n = pieceSizes[i % pieceSizes.length]!;
    const piece = bytes.subarray(off, off + n);
    off += piece.length;
    // A frame as the pieces it arrived in: two arrays when it can be split.
    await file.write(piece.length > 1 ? [piece.subarray(0, 1), piece.subarray(1)] : [piece]);
  }
}

describe('DirectFile', () => {
  it('writes every size bit-exact, around the page cache where the file system allows it', async () => {
    const sizes = [0, 1, DIRECT_ALIGN - 1, DIRECT_ALIGN, DIRECT_ALIGN + 1, DIRECT_BUFFER_BYTES - 1, DIRECT_BUFFER_BYTES, DIRECT_BUFFER_BYTES + 1, 8_388_808];
    for (const [k, size] of sizes.entries()) {
      const bytes = random.bytes(size);
      const name = path.join(dir, `f${k}`);
      const file = await DirectFile.create(name, dir);
      // Pieces that straddle every boundary: 64 KiB Noise messages, odd sizes, a whole buffer and more.
      await writeInPieces(file, bytes, [65_536, 7, 262_144 + 3, DIRECT_BUFFER_BYTES + 5]);
      await file.finish();
      expect(file.direct).toBe(folderTakesODirect(dir));
      const back = fs.readFileSync(name);
      expect(back.length, `size ${size}`).toBe(size);
      expect(back.equals(bytes), `bytes of size ${size}`).toBe(true);
      expect(fs.statSync(name).mode & 0o777).toBe(0o600);
    }
  });

  it('more files at once than aligned buffers: the rest go through the page cache, all whole', async () => {
    const n = DIRECT_BUFFERS + 3;
    const files = await Promise.all(Array.from({ length: n }, (_, i) => DirectFile.create(path.join(dir, `many${i}`), dir)));
    expect(files.filter((f) => f.direct).length).toBe(folderTakesODirect(dir) ? DIRECT_BUFFERS : 0);
    const contents = files.map(() => random.bytes(3 * DIRECT_BUFFER_BYTES + 12_345));
    // Interleaved, as concurrent puts are.
    await Promise.all(files.map((f, i) => writeInPieces(f, contents[i]!, [100_000, 65_536])));
    await Promise.all(files.map((f) => f.finish()));
    for (let i = 0; i < n; i++) expect(fs.readFileSync(path.join(dir, `many${i}`)).equals(contents[i]!), `file ${i}`).toBe(true);
    // Every buffer came back: the next files are direct again.
    const again = await Promise.all(Array.from({ length: DIRECT_BUFFERS }, (_, i) => DirectFile.create(path.join(dir, `again${i}`), dir)));
    expect(again.filter((f) => f.direct).length).toBe(folderTakesODirect(dir) ? DIRECT_BUFFERS : 0);
    await Promise.all(again.map((f) => f.close()));
  });

  it('refuses an existing file and leaves it alone', async () => {
    const name = path.join(dir, 'exists');
    fs.writeFileSync(name, 'keep');
    await expect(DirectFile.create(name, dir)).rejects.toMatchObject({ code: 'EEXIST' });
    expect(fs.readFileSync(name, 'utf8')).toBe('keep');
    // No buffer was kept by the failed create.
    const all = await Promise.all(Array.from({ length: DIRECT_BUFFERS }, (_, i) => DirectFile.create(path.join(dir, `after${i}`), dir)));
    expect(all.filter((f) => f.direct).length).toBe(folderTakesODirect(dir) ? DIRECT_BUFFERS : 0);
    await Promise.all(all.map((f) => f.close()));
  });
});
