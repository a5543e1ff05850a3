import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CLI, outputMatch, runCli, startCli, tempDir } from '../support/cli.js';
import { waitFor } from '../support/wait.js';

/** Runs the CLI as user nobody, so that permission bits apply (the tests run as root). */
const asNobody = process.getuid?.() === 0 ? ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', '--'] : [];

describe('scan: bad input gives a clear message, goes on where it can, loses nothing', () => {
  let dir: string;
  let cleanup: () => void;
  let lib: string;
  let db: string;
  beforeEach(() => {
    ({ dir, cleanup } = tempDir());
    fs.chmodSync(dir, 0o777);
    lib = path.join(dir, 'lib');
    db = path.join(dir, 'lomob.db');
    fs.mkdirSync(path.join(lib, 'ok'), { recursive: true });
    fs.writeFileSync(path.join(lib, 'ok/a.jpg'), 'a');
  });
  afterEach(() => cleanup());

  it('a missing path: error naming it, exit 3, other paths still scanned', () => {
    const r = runCli(['--db', db, 'scan', path.join(dir, 'nope'), lib, '--json']);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain(`${path.join(dir, 'nope')} does not exist`);
    expect(JSON.parse(r.stdout).newFiles).toBe(1);
  });

  it('a file instead of a folder: error, exit 3', () => {
    const r = runCli(['--db', db, 'scan', path.join(lib, 'ok/a.jpg')]);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/is a file, not a folder/);
  });

  it('a subtree without read permission: reported, skipped, the rest scanned, its files not marked deleted', () => {
    fs.mkdirSync(path.join(lib, 'private'));
    fs.writeFileSync(path.join(lib, 'private/p.jpg'), 'p');
    fs.writeFileSync(path.join(lib, 'ok/locked.jpg'), 'locked');
    for (const p of [dir, lib, path.join(lib, 'ok'), path.join(lib, 'ok/a.jpg'), path.join(lib, 'ok/locked.jpg'), path.join(lib, 'private'), path.join(lib, 'private/p.jpg')]) {
      fs.chmodSync(p, fs.statSync(p).isDirectory() ? 0o777 : 0o666);
    }
    const first = runCli(['--db', db, 'scan', lib, '--json'], { wrap: asNobody });
    expect(first.code, first.stderr).toBe(0);
    expect(JSON.parse(first.stdout).newFiles).toBe(3);

    fs.chmodSync(path.join(lib, 'private'), 0o000);
    fs.chmodSync(path.join(lib, 'ok/locked.jpg'), 0o000);
    fs.writeFileSync(path.join(lib, 'ok/new.jpg'), 'new');
    fs.chmodSync(path.join(lib, 'ok/new.jpg'), 0o666);
    fs.utimesSync(path.join(lib, 'ok/locked.jpg'), new Date(), new Date(2001, 1, 1)); // forces a re-read
    const r = runCli(['--db', db, 'scan', lib, '--json'], { wrap: asNobody });
    expect(r.code).toBe(4);
    expect(r.stderr).toMatch(/cannot read folder .*private .*skipped with everything under it/);
    expect(r.stderr).toMatch(/cannot read .*locked\.jpg \(EACCES\); skipped/);
    const s = JSON.parse(r.stdout);
    expect(s.newFiles).toBe(1);
    expect(s.deletedFiles).toBe(0);
    expect(s.skipped.map((x: { kind: string }) => x.kind).sort()).toEqual(['unreadable', 'unreadable']);
    const conn = new Database(db, { readonly: true });
    const current = conn.prepare(`SELECT count(*) FROM files WHERE status = 'current'`).pluck().get();
    conn.close();
    expect(current).toBe(4);
    expect(runCli(['--help']).stdout).toContain('4  finished with some items skipped');
  });

  it('a file deleted during the scan: reported as vanished, never recorded, exit 0', async () => {
    // One hashing thread; a 2 GB sparse file is queued first, so the small one waits behind it.
    const big = path.join(lib, 'ok/0-big.bin');
    fs.writeFileSync(big, '');
    fs.truncateSync(big, 2_000_000_000);
    fs.writeFileSync(path.join(lib, 'ok/b-doomed.jpg'), 'doomed');
    const scan = startCli(['--db', db, 'scan', lib, '--threads', '1', '--json', '-l', '5']);
    // Delete it once the walk has seen it, while the big file is still being hashed.
    await outputMatch(scan, /DEBUG: walked /);
    fs.rmSync(path.join(lib, 'ok/b-doomed.jpg'));
    const r = await scan.done;
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/b-doomed\.jpg was deleted during the scan/);
    const s = JSON.parse(r.stdout);
    expect(s.skipped.map((x: { kind: string }) => x.kind)).toEqual(['vanished']);
    // Never recorded: nothing to mark deleted; the next scan is clean.
    const again = JSON.parse(runCli(['--db', db, 'scan', lib, '--json']).stdout);
    expect(again).toMatchObject({ newFiles: 0, deletedFiles: 0, skipped: [] });
  });

  it('a file growing during the scan: retried, then skipped until the next scan', async () => {
    const growing = path.join(lib, 'ok/growing.mov');
    fs.writeFileSync(growing, Buffer.alloc(64 << 20, 1));
    // Another process appends 4 KB every millisecond while the scan reads it (bounded: ~4 MB/s).
    const writer = spawn(process.execPath, [
      '-e',
      `const fs=require('fs');const fd=fs.openSync(${JSON.stringify(growing)},'a');const b=Buffer.alloc(4096,2);setInterval(()=>fs.writeSync(fd,b),1)`,
    ]);
    try {
      await waitFor(() => fs.statSync(growing).size > 64 << 20, 30_000, 'the writer to start appending');
      const r = runCli(['--db', db, 'scan', lib, '--json']);
      expect(r.code).toBe(4);
      expect(r.stderr).toMatch(/growing\.mov kept changing while being read; skipped until the next scan/);
      expect(JSON.parse(r.stdout).newFiles).toBe(1);
    } finally {
      writer.kill('SIGKILL');
    }
    await new Promise((r) => writer.on('close', r));
    const after = JSON.parse(runCli(['--db', db, 'scan', lib, '--json']).stdout);
    expect(after.newFiles).toBe(1);
    expect(after.skipped).toEqual([]);
  });

  it('a catalog from a newer schema version: refused with exit 5 and left untouched', () => {
    expect(runCli(['--db', db, 'scan', lib]).code).toBe(0);
    const conn = new Database(db);
    conn.prepare(`INSERT INTO schema_migrations (version, name, applied_at) VALUES (999, 'from the future', 0)`).run();
    conn.pragma('wal_checkpoint(TRUNCATE)');
    conn.close();
    const before = fs.readFileSync(db);
    fs.writeFileSync(path.join(lib, 'ok/more.jpg'), 'more');
    const r = runCli(['--db', db, 'scan', lib]);
    expect(r.code).toBe(5);
    expect(r.stderr).toMatch(/written by a newer lomo-peer \(schema version 999.*Upgrade lomo-peer/);
    expect(fs.readFileSync(db).equals(before)).toBe(true);
    expect(runCli(['--db', db, 'list', 'files']).code).toBe(5);
  });

  it('usage errors exit 2 with a hint', () => {
    const r = runCli(['--db', db, 'scan']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/Not enough non-option arguments|--help/);
    const t = runCli(['--db', db, 'scan', lib, '--threads', '0']);
    expect(t.code).toBe(2);
    expect(t.stderr).toContain('--threads must be');
    expect(CLI).toBeTruthy();
  });
});
