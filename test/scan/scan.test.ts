import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCli, tempDir } from '../support/cli.js';

const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

interface ListedFile {
  path: string;
  size: number;
  sha256: string;
  inCloud: boolean;
}

describe('scan and list (incremental)', () => {
  let dir: string;
  let cleanup: () => void;
  let lib: string;
  let db: string;
  const scan = (...extra: string[]) => {
    const r = runCli(['--db', db, 'scan', lib, '--json', ...extra]);
    expect(r.code, r.stderr).toBe(0);
    return JSON.parse(r.stdout);
  };
  const listFiles = (): ListedFile[] => {
    const r = runCli(['--db', db, 'list', 'files', '--json']);
    expect(r.code, r.stderr).toBe(0);
    return JSON.parse(r.stdout);
  };

  beforeEach(() => {
    ({ dir, cleanup } = tempDir());
    lib = path.join(dir, 'Pictures');
    db = path.join(dir, 'lomob.db');
    fs.mkdirSync(path.join(lib, '2024/trip'), { recursive: true });
    fs.mkdirSync(path.join(lib, '.git'), { recursive: true });
    fs.writeFileSync(path.join(lib, '2024/trip/a.jpg'), 'photo a');
    fs.writeFileSync(path.join(lib, '2024/trip/b.jpg'), Buffer.alloc(3_000_000, 7));
    fs.writeFileSync(path.join(lib, '2024/empty.jpg'), '');
    fs.writeFileSync(path.join(lib, '2024/Thumbs.db'), 'ignored');
    fs.writeFileSync(path.join(lib, '.git/config'), 'ignored');
  });
  afterEach(() => cleanup());

  it('records every file with its SHA-256, skips ignored names, and lists them', () => {
    const s = scan();
    expect(s.newFiles).toBe(3);
    expect(s.filesHashed).toBe(3);
    const files = listFiles();
    expect(files.map((f) => path.relative(lib, f.path)).sort()).toEqual(['2024/empty.jpg', '2024/trip/a.jpg', '2024/trip/b.jpg']);
    const b = files.find((f) => f.path.endsWith('b.jpg'))!;
    expect(b.sha256).toBe(sha(Buffer.alloc(3_000_000, 7)));
    expect(b.size).toBe(3_000_000);
    expect(files.every((f) => f.inCloud === false)).toBe(true);

    const table = runCli(['--db', db, 'list', 'files']).stdout;
    expect(table).toMatch(/^In Cloud\s+Size\s+Path/);
    expect(table).toContain('3.0 MB');
    const big = runCli(['--db', db, 'list', 'bigfiles', '-s', '1MB', '--json']);
    expect(JSON.parse(big.stdout).map((f: ListedFile) => path.basename(f.path))).toEqual(['b.jpg']);
    const dirs = JSON.parse(runCli(['--db', db, 'list', 'dirs', '--json']).stdout) as { path: string; files: number }[];
    expect(dirs.find((d) => d.path.endsWith('2024/trip'))?.files).toBe(2);
    expect(dirs.some((d) => d.path.includes('.git'))).toBe(false);
  });

  it('does not read unchanged files again, versions changed ones and marks deleted ones', () => {
    scan();
    const again = scan();
    expect(again).toMatchObject({ filesHashed: 0, unchangedFiles: 3, newFiles: 0, changedFiles: 0, deletedFiles: 0 });

    fs.writeFileSync(path.join(lib, '2024/trip/a.jpg'), 'photo a, edited');
    fs.rmSync(path.join(lib, '2024/empty.jpg'));
    const t = new Date('2020-01-01T00:00:00Z');
    fs.utimesSync(path.join(lib, '2024/trip/b.jpg'), t, t); // touched: same bytes, new mtime
    const third = scan();
    expect(third).toMatchObject({ changedFiles: 1, deletedFiles: 1, touchedFiles: 1, filesHashed: 2 });

    const conn = new Database(db, { readonly: true });
    const rows = conn
      .prepare(`SELECT name, status, hex(sha256) AS h FROM files ORDER BY id`)
      .all()
      .map((r: any) => ({ name: Buffer.from(r.name).toString(), status: r.status, h: String(r.h).toLowerCase() }));
    conn.close();
    expect(rows.filter((r) => r.name === 'a.jpg')).toEqual([
      { name: 'a.jpg', status: 'superseded', h: sha('photo a') },
      { name: 'a.jpg', status: 'current', h: sha('photo a, edited') },
    ]);
    expect(rows.filter((r) => r.name === 'empty.jpg').map((r) => r.status)).toEqual(['deleted']);
    expect(rows.filter((r) => r.name === 'b.jpg').map((r) => r.status)).toEqual(['current']);
    expect(listFiles().map((f) => path.basename(f.path)).sort()).toEqual(['a.jpg', 'b.jpg']);

    // A deleted file that comes back is a new current version; the deleted row stays.
    fs.writeFileSync(path.join(lib, '2024/empty.jpg'), '');
    expect(scan().newFiles).toBe(1);
  });

  it('records symlinks without following them out of the root', () => {
    const outside = path.join(dir, 'outside');
    fs.mkdirSync(outside);
    fs.writeFileSync(path.join(outside, 'secret.jpg'), 'not in the library');
    fs.symlinkSync(outside, path.join(lib, 'link-to-outside'));
    fs.symlinkSync('trip/a.jpg', path.join(lib, '2024/alias.jpg'));
    const s = scan();
    expect(s.symlinks).toBe(2);
    const conn = new Database(db, { readonly: true });
    const links = conn.prepare(`SELECT name, link_target FROM files WHERE kind = 'symlink' ORDER BY name`).all() as { name: Buffer; link_target: Buffer }[];
    const names = conn.prepare(`SELECT name FROM files`).pluck().all() as Buffer[];
    conn.close();
    expect(links.map((l) => [l.name.toString(), l.link_target.toString()])).toEqual([
      ['alias.jpg', 'trip/a.jpg'],
      ['link-to-outside', outside],
    ]);
    expect(names.map((n) => n.toString())).not.toContain('secret.jpg');
    expect(scan()).toMatchObject({ newFiles: 0, changedFiles: 0, unchangedFiles: 5 });
  });

  it('keeps names that are not valid UTF-8 byte for byte', () => {
    const raw = Buffer.concat([Buffer.from(lib + '/2024/'), Buffer.from([0x66, 0xff, 0xfe, 0x2e, 0x6a, 0x70, 0x67])]);
    fs.writeFileSync(raw, 'latin bytes');
    const s = scan();
    expect(s.newFiles).toBe(4);
    const listed = listFiles().find((f) => f.path.includes('\\xff'));
    expect(listed?.path).toBe(`${lib}/2024/f\\xff\\xfe.jpg`);
    expect(listed?.sha256).toBe(sha('latin bytes'));
    const conn = new Database(db, { readonly: true });
    const names = conn.prepare(`SELECT name FROM files`).pluck().all() as Buffer[];
    conn.close();
    expect(names.some((n) => n.equals(Buffer.from([0x66, 0xff, 0xfe, 0x2e, 0x6a, 0x70, 0x67])))).toBe(true);
    expect(scan()).toMatchObject({ filesHashed: 0, unchangedFiles: 4 });
  });

  it('scans several roots and refuses nested ones', () => {
    const other = path.join(dir, 'Videos');
    fs.mkdirSync(other);
    fs.writeFileSync(path.join(other, 'v.mp4'), 'video');
    const r = runCli(['--db', db, 'scan', lib, other, '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).newFiles).toBe(4);
    const nested = runCli(['--db', db, 'scan', path.join(lib, '2024')]);
    expect(nested.code).toBe(3);
    expect(nested.stderr).toContain('is inside the scanned folder');
  });
});
