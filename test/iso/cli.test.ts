/**
 * scan → iso create → iso list / list iso / iso dump through the real CLI: lomob's grouping
 * (files wait for a full volume, --partial, a too-big file alone), default names, the root folder
 * rule, catalog byte ranges that hold exactly each file, extraction by bsdtar and 7z matching the
 * catalog's SHA-256, pack-time checks, bad input, and determinism across two catalogs.
 */
import Database from 'better-sqlite3';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';
import { pseudoRandom, run, sha256, sha256File, tmpDir } from './helpers.js';
import { makeTree, JOLIET_EXPECTED } from './tree.js';

let dir: string;
beforeAll(() => {
  dir = tmpDir('cli');
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const cli = (db: string, ...args: string[]) => runCli(['--db', db, ...args]);
const day = (ms: number) => {
  const d = new Date(ms);
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
};

interface Row { name: string; iso_path: Buffer; offset: number; length: number; sha256: Buffer; size: number }
function volumeFiles(db: string): Row[] {
  const d = new Database(db, { readonly: true });
  try {
    return d
      .prepare(`SELECT v.name, vf.iso_path, vf.offset, vf.length, f.sha256, f.size FROM volume_files vf
                JOIN volumes v ON v.id = vf.volume_id JOIN files f ON f.id = vf.file_id ORDER BY v.id, vf.iso_path`)
      .all() as Row[];
  } finally {
    d.close();
  }
}

describe('grouping into volumes as lomob', () => {
  let lib: string;
  let db: string;
  let store: string;
  const DAY = 86_400_000;
  const base = Date.UTC(2024, 3, 13, 12);

  beforeAll(() => {
    lib = path.join(dir, 'photos', 'family');
    store = path.join(dir, 'store');
    db = path.join(dir, 'group.db');
    fs.mkdirSync(path.join(lib, 'sub'), { recursive: true });
    fs.mkdirSync(store);
    // 8 photos of 300 kB over 8 days, and one 1.5 MB video (bigger than the 1 MB volumes).
    for (let i = 0; i < 8; i++) {
      const f = path.join(lib, i % 2 ? 'sub' : '', `p${i}.jpg`);
      fs.writeFileSync(f, pseudoRandom(300_000, 100 + i));
      fs.utimesSync(f, (base + i * DAY) / 1000, (base + i * DAY) / 1000);
    }
    fs.writeFileSync(path.join(lib, 'video.mp4'), pseudoRandom(1_500_000, 99));
    fs.utimesSync(path.join(lib, 'video.mp4'), (base + 3.5 * DAY) / 1000, (base + 3.5 * DAY) / 1000);
    expect(cli(db, 'scan', lib).code).toBe(0);
  });

  it('fills whole volumes, gives a too-big file its own, and lets the rest wait', () => {
    const r = cli(db, 'iso', 'create', '-s', '1MB', '-p', store, '--json');
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { volumes: { name: string; files: number; size: number }[]; waitingFiles: number };
    // oldest first: p0..p2 fill a volume (3 x 300 kB + metadata < 1 MB, a 4th would not fit),
    // then p3..p5 (the video gets its own volume), p6, p7 wait.
    expect(out.volumes.map((v) => v.files)).toEqual([3, 1, 3]);
    expect(out.volumes[0]!.name).toBe(`${day(base)}--${day(base + 2 * DAY)}.iso`);
    expect(out.volumes[1]!.name).toBe(`${day(base + 3.5 * DAY)}--${day(base + 3.5 * DAY)}.iso`);
    expect(out.volumes[1]!.size).toBeGreaterThan(1_500_000);
    for (const v of [out.volumes[0]!, out.volumes[2]!]) expect(v.size).toBeLessThanOrEqual(1_000_000);
    expect(out.waitingFiles).toBe(2);
    expect(r.stderr).toMatch(/2 file\(s\).*wait until they fill a 1.0 MB volume; use --partial/);
    for (const v of out.volumes) expect(fs.statSync(path.join(store, v.name)).size).toBe(v.size);
    expect(fs.readdirSync(store).filter((n) => n.includes('.partial'))).toEqual([]);

    const again = cli(db, 'iso', 'create', '-s', '1MB', '-p', store, '--json');
    expect(JSON.parse(again.stdout).volumes).toEqual([]); // nothing new is full yet

    const partial = cli(db, 'iso', 'create', '-s', '1MB', '-p', store, '--partial', 'last-bits');
    expect(partial.code, partial.stderr).toBe(0);
    expect(partial.stdout).toMatch(/^last-bits\.iso\s+\S+ \S+\s+2 file\(s\)\s+[0-9a-f]{64}$/m);
  });

  it('records each file at a byte range of the image that holds exactly its data', () => {
    const rows = volumeFiles(db);
    expect(rows.length).toBe(9);
    for (const r of rows) {
      const fd = fs.openSync(path.join(store, r.name), 'r');
      const buf = Buffer.alloc(r.length);
      fs.readSync(fd, buf, 0, r.length, r.offset);
      fs.closeSync(fd);
      expect(r.length).toBe(r.size);
      expect(sha256(buf), r.iso_path.toString()).toBe(r.sha256.toString('hex'));
      // the scan root appears as its full path joined with '_'
      expect(r.iso_path.toString()).toMatch(new RegExp(`^${path.join(dir, 'photos', 'family').split('/').filter(Boolean).join('_')}/`));
    }
  });

  it('iso list and list iso print the lomob columns; iso dump prints the tree', () => {
    const a = cli(db, 'iso', 'list');
    const b = cli(db, 'list', 'iso');
    expect(a.code).toBe(0);
    expect(a.stdout).toBe(b.stdout);
    const lines = a.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^ID\s+Name\s+Size\s+Status\s+Region\s+Bucket\s+Files Count\s+Create Time\s+Hash$/);
    expect(lines.length).toBe(5);
    expect(lines[1]).toMatch(/^ 1\s+\S+\.iso\s+\d+\.\d (KB|MB)\s+Created, not uploaded\s+3\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\s+[0-9a-f]{64}$/);
    const json = JSON.parse(cli(db, 'list', 'iso', '--json').stdout) as { name: string; sha256: string }[];
    for (const v of json) expect(sha256File(path.join(store, v.name))).toBe(v.sha256);

    const name = json[0]!.name;
    const fromCatalog = cli(db, 'iso', 'dump', name);
    const fromImage = cli(db, 'iso', 'dump', path.join(store, name));
    expect(fromCatalog.code, fromCatalog.stderr).toBe(0);
    expect(fromImage.stdout).toBe(fromCatalog.stdout);
    expect(fromCatalog.stdout).toMatch(/^\/\n└── \[ \d\d\/\d\d\/\d{4}\] \S+_family\n/);
    expect(fromCatalog.stdout).toContain(`├── [ 300000 ${new Date(base).toLocaleDateString('en-US', { month: '2-digit', day: '2-digit', year: 'numeric' })}] p0.jpg`);
  });

  it('skips a file changed since the scan (exit 4) and packs it after a rescan', () => {
    const f = path.join(lib, 'p8.jpg');
    fs.writeFileSync(f, 'new photo');
    fs.writeFileSync(path.join(lib, 'p9.jpg'), 'soon gone');
    expect(cli(db, 'scan', lib).code).toBe(0);
    fs.appendFileSync(f, 'more');
    fs.rmSync(path.join(lib, 'p9.jpg'));
    const r = cli(db, 'iso', 'create', '-s', '1MB', '-p', store, '--partial');
    expect(r.code).toBe(4);
    expect(r.stderr).toMatch(/skipping .*p8\.jpg: changed since it was scanned; run scan/);
    expect(r.stderr).toMatch(/skipping .*p9\.jpg: ENOENT; run scan to record it/);
    expect(cli(db, 'scan', lib).code).toBe(0);
    const again = cli(db, 'iso', 'create', '-s', '1MB', '-p', store, '--partial', '--json');
    expect(again.code, again.stderr).toBe(0);
    expect(JSON.parse(again.stdout).volumes.map((v: { files: number }) => v.files)).toEqual([1]);
  });

  it('bad input: clear errors with documented exit codes', () => {
    const size = cli(db, 'iso', 'create', '-s', 'lots');
    expect(size.code).toBe(2);
    expect(size.stderr).toMatch(/--iso-size: not a size: "lots"/);
    const missing = cli(db, 'iso', 'create', '-p', path.join(dir, 'nope'));
    expect(missing.code).toBe(3);
    expect(missing.stderr).toMatch(/store folder .*nope does not exist: create it, or pass another with --store-dir/);
    const dump = cli(db, 'iso', 'dump', 'no-such.iso');
    expect(dump.code, dump.stderr).toBe(3);
    expect(dump.stderr).toMatch(/no ISO file or volume named no-such.iso/);
    const notIso = path.join(dir, 'not.iso');
    fs.writeFileSync(notIso, Buffer.alloc(40_000, 1));
    expect(cli(db, 'iso', 'dump', notIso).code).toBe(3);
    expect(cli(path.join(dir, 'absent.db'), 'iso', 'list').code).toBe(5);
  });
});

describe('the acceptance tree through the CLI', () => {
  it('tools extract every file with the catalog SHA-256; two catalogs give the same image', () => {
    const lib = path.join(dir, 'acc');
    makeTree(lib);
    const images: string[] = [];
    for (const k of [1, 2]) {
      const db = path.join(dir, `acc${k}.db`);
      const store = path.join(dir, `acc-store${k}`);
      fs.mkdirSync(store);
      expect(cli(db, 'scan', lib).code).toBe(0);
      const r = cli(db, 'iso', 'create', '--partial', '-p', store, 'acc.iso');
      expect(r.code, r.stderr).toBe(0);
      images.push(path.join(store, 'acc.iso'));
      if (k === 2) break;
      const rows = volumeFiles(db);
      expect(rows.length).toBe(21); // every file of the tree (empty folders carry no data)
      const bsd = path.join(dir, 'acc-bsdtar');
      const sz = path.join(dir, 'acc-7z');
      fs.mkdirSync(bsd);
      run('bsdtar', ['-xf', images[0]!, '-C', bsd]);
      run('7z', ['x', `-o${sz}`, images[0]!]);
      for (const row of rows) {
        const want = row.sha256.toString('hex');
        expect(sha256File(Buffer.concat([Buffer.from(bsd + '/'), row.iso_path]))).toBe(want);
        const joliet = row.iso_path
          .toString('latin1')
          .split('/')
          .map((c) => JOLIET_EXPECTED[Buffer.from(c, 'latin1').toString('utf8')] ?? JOLIET_EXPECTED[c] ?? Buffer.from(c, 'latin1').toString('utf8'))
          .join('/');
        expect(sha256File(path.join(sz, joliet))).toBe(want);
      }
    }
    expect(sha256File(images[1]!)).toBe(sha256File(images[0]!));
  });
});
