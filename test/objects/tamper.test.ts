import { describe, expect, it, beforeAll, afterAll } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { ROOT, runCommand } from '../support/cli.js';
import { makeSite, chunkFiles, filesUnder, PASS, type Site } from './site.js';

/**
 * The tamper list, against a real 3-chunk volume made by `iso create`: each case must fail
 * with an error naming the object and the chunk, exit 7 (stored data failed verification), and
 * leave nothing at the destination — both through `restore` (catalog hashes) and through the
 * independent decryptor (format checks alone).
 */
let tmp: string;
let site: Site;
let foreign: string;
let n = 0;

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lomo-tamper-'));
  site = await makeSite(path.join(tmp, 'site'), { 'one.bin': 7_000_000, 'two.bin': 7_000_000, 'three.bin': 6_000_000 });
  // Some other object of the same site: the volume's manifest.
  foreign = fs.readdirSync(site.objects).find((d) => d !== site.volumeObject)!;
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

type Tamper = (chunks: string[], store: string) => number; // returns the chunk index it damaged

const cases: [string, Tamper][] = [
  ['one flipped bit', (c) => {
    const buf = fs.readFileSync(c[1]!);
    buf[Math.floor(buf.length / 2) + 3]! ^= 0x10;
    fs.writeFileSync(c[1]!, buf);
    return 1;
  }],
  ['a flipped bit in the header', (c) => {
    const buf = fs.readFileSync(c[0]!);
    buf[20]! ^= 0x01; // chunk index field
    fs.writeFileSync(c[0]!, buf);
    return 0;
  }],
  ['a missing last chunk', (c) => {
    fs.rmSync(c.at(-1)!);
    return c.length - 1;
  }],
  ['two chunks swapped', (c) => {
    const a = fs.readFileSync(c[0]!);
    fs.copyFileSync(c[1]!, c[0]!);
    fs.writeFileSync(c[1]!, a);
    return 0;
  }],
  ['a truncated chunk', (c) => {
    fs.truncateSync(c[1]!, fs.statSync(c[1]!).size - 1000);
    return 1;
  }],
  ['a chunk from another object', (c, store) => {
    fs.copyFileSync(path.join(store, foreign, '00000'), c[2]!);
    return 2;
  }],
];

/** A library file with bytes in chunk `index` of the volume (from the catalog's extents). */
function fileInChunk(index: number): string {
  const db = new Database(site.db, { readonly: true });
  try {
    const cp = (db.prepare("SELECT chunk_plain FROM objects WHERE kind = 'volume'").get() as { chunk_plain: number }).chunk_plain;
    const row = db
      .prepare('SELECT f.name FROM volume_files vf JOIN files f ON f.id = vf.file_id WHERE vf.offset < ? AND vf.offset + vf.length > ? ORDER BY vf.offset DESC')
      .get((index + 1) * cp, index * cp) as { name: Buffer };
    return path.join(site.lib, row.name.toString());
  } finally {
    db.close();
  }
}

describe('tampered objects are refused, naming object and chunk, writing nothing', () => {
  it('the volume has 3 chunks', () => {
    expect(chunkFiles(path.join(site.objects, site.volumeObject)).length).toBe(3);
  });

  for (const [name, tamper] of cases) {
    it(name, async () => {
      const store = path.join(tmp, `store${++n}`);
      fs.cpSync(site.objects, store, { recursive: true });
      const bad = tamper(chunkFiles(path.join(store, site.volumeObject)), store);

      const out = path.join(tmp, `out${n}`);
      const vol = await site.cli('restore', 'volume', site.volume, '--to', out, '--objects-dir', store);
      expect(vol.code, vol.stderr).toBe(7);
      expect(vol.stderr).toContain(`object ${site.volumeObject} chunk ${bad}`);
      expect(filesUnder(out)).toEqual([]);
      expect(fs.existsSync(out)).toBe(false);

      // A file whose bytes sit in the damaged chunk.
      const one = await site.cli('restore', 'file', fileInChunk(bad), '--to', out, '--objects-dir', store);
      expect(one.code, one.stderr).toBe(7);
      expect(one.stderr).toMatch(new RegExp(`object ${site.volumeObject} chunk \\d`));
      expect(fs.existsSync(out)).toBe(false);

      // The independent decryptor, with no catalog, catches it from the format alone.
      const iso = path.join(tmp, `indep${n}.iso`);
      const r = await runCommand([process.execPath, path.join(ROOT, 'deploy/decrypt-volume.js'), path.join(site.dir, 'recovery-kit.txt'), path.join(store, site.volumeObject), iso], {
        env: { LOMOB_MASTER_KEY: PASS },
      });
      expect(r.code).toBe(7);
      expect(r.stderr).toMatch(/chunk \d/);
      expect(r.stderr).not.toMatch(/\n\s+at /); // a message, no stack trace
      expect(fs.existsSync(iso)).toBe(false);
      expect(fs.existsSync(iso + '.part')).toBe(false);
    });
  }
});
