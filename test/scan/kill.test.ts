import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, startCli, tempDir } from '../support/cli.js';
import { seeded } from '../support/random.js';

const random = seeded('scan/kill.test.ts');

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');


describe('scan survives SIGKILL at any moment', () => {
  let dir: string;
  let cleanup: () => void;
  beforeAll(() => ({ dir, cleanup } = tempDir()));
  afterAll(() => cleanup());

  it('after >= 20 kills the catalog is intact and a re-run records every file exactly once', async () => {
    const { seed, next: rand } = random;
    const lib = path.join(dir, 'lib');
    const db = path.join(dir, 'lomob.db');
    const files: string[] = [];
    for (let i = 0; i < 600; i++) {
      const f = path.join(lib, `d${i % 30}`, `f${i}.jpg`);
      fs.mkdirSync(path.dirname(f), { recursive: true });
      fs.writeFileSync(f, random.bytes(50_000 + Math.floor(rand() * 500_000)));
      files.push(f);
    }
    // Calibrate: how long does a full first scan take here?
    const t0 = performance.now();
    expect(runCli(['--db', path.join(dir, 'calibrate.db'), 'scan', lib]).code).toBe(0);
    const fullMs = performance.now() - t0;

    let kills = 0;
    for (let round = 0; kills < 22 && round < 80; round++) {
      // Change the library between kills so every round has real work: edits, deletions, additions.
      if (round > 0) {
        for (let k = 0; k < 150; k++) {
          const i = Math.floor(rand() * files.length);
          if (fs.existsSync(files[i]!)) fs.writeFileSync(files[i]!, random.bytes(50_000 + Math.floor(rand() * 500_000)));
        }
        const gone = files[Math.floor(rand() * files.length)]!;
        fs.rmSync(gone, { force: true });
        const added = path.join(lib, `d${round}`, `new-${round}.jpg`);
        fs.mkdirSync(path.dirname(added), { recursive: true }); // rounds past 29 add new folders
        fs.writeFileSync(added, random.bytes(100_000));
        files.push(added);
      }
      const child = startCli(['--db', db, 'scan', lib]).child;
      const exited = new Promise<number | null>((r) => child.on('close', (code) => r(code)));
      // Kill somewhere in the run, start-up included; later rounds have less to do than the first.
      await new Promise((r) => setTimeout(r, rand() * fullMs * (round === 0 ? 1 : 0.6)));
      if (child.exitCode === null && child.kill('SIGKILL')) kills++;
      await exited;

      const conn = new Database(db);
      try {
        expect(conn.pragma('integrity_check', { simple: true }), `seed ${seed} round ${round}`).toBe('ok');
        // Killed before the first migration committed: an empty catalog, which the next run migrates.
        const hasFiles = conn.prepare(`SELECT 1 FROM sqlite_master WHERE name = 'files'`).get();
        if (!hasFiles) continue;
        const dup = conn.prepare(`SELECT count(*) FROM (SELECT dir_id, name FROM files WHERE status = 'current' GROUP BY dir_id, name HAVING count(*) > 1)`).pluck().get();
        expect(dup, `seed ${seed}`).toBe(0);
      } finally {
        conn.close();
      }
    }
    expect(kills, `seed ${seed}: too few kills landed mid-scan`).toBeGreaterThanOrEqual(20);

    const final = runCli(['--db', db, 'scan', lib, '--json']);
    expect(final.code, final.stderr).toBe(0);
    const listed = JSON.parse(runCli(['--db', db, 'list', 'files', '--json']).stdout) as { path: string; sha256: string }[];
    const onDisk = files.filter((f) => fs.existsSync(f)).sort();
    expect(listed.map((f) => f.path).sort()).toEqual(onDisk);
    const byPath = new Map(listed.map((f) => [f.path, f.sha256]));
    for (const f of onDisk) expect(byPath.get(f), f).toBe(sha(fs.readFileSync(f)));
    const again = JSON.parse(runCli(['--db', db, 'scan', lib, '--json']).stdout);
    expect(again).toMatchObject({ filesHashed: 0, newFiles: 0, changedFiles: 0, deletedFiles: 0 });
  }, 300_000);
});
