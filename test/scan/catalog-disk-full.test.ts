import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { runCli, tempDir } from '../support/cli.js';

/**
 * The disk under the catalog fills up during a scan (the catalog lives on a 256 KiB tmpfs, the
 * library has 4,000 files): the scan must say so and exit 9 without a stack trace, the catalog
 * must stay consistent, and once there is room the same scan completes. Needs root (mount).
 */
describe('a full disk under the catalog', () => {
  const { dir, cleanup } = tempDir('lomo-catfull-');
  const small = path.join(dir, 'small');
  const lib = path.join(dir, 'lib');
  beforeAll(() => {
    if (process.getuid?.() !== 0) throw new Error('this test mounts a tmpfs: run it as root (the CI does)');
    fs.mkdirSync(small);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=256k', 'tmpfs', small]);
    for (let d = 0; d < 40; d++) {
      fs.mkdirSync(path.join(lib, `album-${d}`), { recursive: true });
      for (let f = 0; f < 100; f++) fs.writeFileSync(path.join(lib, `album-${d}`, `IMG_${String(f).padStart(6, '0')}.jpg`), `${d}/${f}`);
    }
  });
  afterAll(() => {
    execFileSync('umount', [small]);
    cleanup();
  });

  it('exits 9 with what to do, keeps the catalog consistent, and a re-run with room completes', () => {
    const db = path.join(small, 'lomob.db');
    const full = runCli(['--db', db, 'scan', lib]);
    expect(full.code, full.stderr).toBe(9);
    expect(full.stderr).toMatch(/disk holding the catalog is full: free some space/);
    expect(full.stderr).not.toMatch(/\n\s+at |SqliteError/);

    execFileSync('mount', ['-o', 'remount,size=64m', small]);
    const check = new Database(db, { readonly: true });
    expect(check.pragma('integrity_check', { simple: true })).toBe('ok');
    check.close();
    const again = runCli(['--db', db, '--json', 'scan', lib]);
    expect(again.code, again.stderr).toBe(0);
    const files = JSON.parse(runCli(['--db', db, '--json', 'list', 'bigfiles', '-s', '0']).stdout) as unknown[];
    expect(files).toHaveLength(4000);
  });
});
