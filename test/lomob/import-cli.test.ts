import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT, runCli, tempDir } from '../support/cli.js';

const FIXTURE = path.join(ROOT, 'test/fixtures/lomob/lomob.db');
const sha = (f: string) => crypto.createHash('sha256').update(fs.readFileSync(f)).digest('hex');

describe('a lomob user moves in (import lomob through the CLI)', () => {
  const { dir, cleanup } = tempDir('lomo-import-');
  afterAll(() => cleanup());
  const lomobDb = path.join(dir, 'lomob.db');
  fs.copyFileSync(FIXTURE, lomobDb);
  const before = sha(lomobDb);

  it("any command on lomob's catalog says what to do, exits 5 and leaves the file as it was", () => {
    const r = runCli(['list', 'files'], { cwd: dir });
    expect(r.code).toBe(5);
    expect(r.stderr).toMatch(/is a lomob catalog.*import lomob/);
    expect(r.stderr).not.toMatch(/SqliteError|at .*\.js:\d+/);
    expect(sha(lomobDb)).toBe(before);
    expect(fs.readdirSync(dir)).toEqual(['lomob.db']); // no WAL/SHM, no new catalog
  });

  it("refuses to import into lomob's own file (both default to lomob.db)", () => {
    const r = runCli(['import', 'lomob'], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/pass --db <new catalog>/);
    expect(sha(lomobDb)).toBe(before);
  });

  it('imports folders, files and the volume; a second import adds nothing; lomob.db is untouched', () => {
    const first = runCli(['--db', 'lp.db', '--json', 'import', 'lomob'], { cwd: dir });
    expect(first.code, first.stderr).toBe(0);
    expect(JSON.parse(first.stdout)).toMatchObject({ scanRoots: 1, dirs: 5, files: 6, volumes: 1 });
    const files = JSON.parse(runCli(['--db', 'lp.db', '--json', 'list', 'files'], { cwd: dir }).stdout) as { path: string }[];
    expect(files.map((f) => f.path).sort()).toEqual(['/home/alice/Pictures/2021/12/VID_0003.mp4', '/home/alice/Pictures/2021/12/家族 2021.jpg']);
    const isos = JSON.parse(runCli(['--db', 'lp.db', '--json', 'iso', 'list'], { cwd: dir }).stdout) as { name: string; filesCount: number }[];
    expect(isos).toHaveLength(1);
    expect(isos[0]).toMatchObject({ name: '2026-12-04--2026-12-04.iso' });
    const again = runCli(['--db', 'lp.db', '--json', 'import', 'lomob', 'lomob.db'], { cwd: dir });
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ scanRoots: 0, dirs: 0, files: 0, volumes: 0, uploadParts: 0 });
    expect(sha(lomobDb)).toBe(before);
  });

  it('a file that is not a lomob catalog is refused with exit 3', () => {
    fs.writeFileSync(path.join(dir, 'notes.txt'), 'hello');
    const r = runCli(['--db', 'lp.db', 'import', 'lomob', 'notes.txt'], { cwd: dir });
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/not a lomob catalog/);
  });
});
