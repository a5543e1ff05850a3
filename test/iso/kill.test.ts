/**
 * A killed `iso create` leaves no half volume: nothing in the catalog, no file under the final
 * name, and the next run removes the temp file and produces the volume, identical to an
 * uninterrupted run's.
 */
import Database from 'better-sqlite3';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { cli, killWhen, runCli, startCli } from '../support/cli.js';
import { pseudoRandom, sha256File, tmpDir } from './helpers.js';

let dir: string;
beforeAll(() => {
  dir = tmpDir('kill');
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function catalogState(db: string): { volumes: number; packed: number; rows: number } {
  const d = new Database(db, { readonly: true });
  try {
    return {
      volumes: d.prepare('SELECT count(*) FROM volumes').pluck().get() as number,
      packed: d.prepare('SELECT count(*) FROM files WHERE volume_id IS NOT NULL').pluck().get() as number,
      rows: d.prepare('SELECT count(*) FROM volume_files').pluck().get() as number,
    };
  } finally {
    d.close();
  }
}

it('SIGKILL while writing leaves nothing registered; a re-run produces the same volume', async () => {
  const lib = path.join(dir, 'lib');
  fs.mkdirSync(lib);
  for (let i = 0; i < 60; i++) {
    const f = path.join(lib, `v${String(i).padStart(2, '0')}.mp4`);
    fs.writeFileSync(f, pseudoRandom(2_000_000, i));
    fs.utimesSync(f, 1_700_000_000 + i, 1_700_000_000 + i);
  }
  const dbs = ['killed', 'clean'].map((n) => path.join(dir, `${n}.db`));
  const stores = ['killed', 'clean'].map((n) => path.join(dir, `store-${n}`));
  for (let k = 0; k < 2; k++) {
    fs.mkdirSync(stores[k]!);
    expect(runCli(['--db', dbs[k]!, 'scan', lib]).code).toBe(0);
  }
  const args = (k: number) => ['--db', dbs[k]!, 'iso', 'create', '--partial', '-p', stores[k]!, 'v.iso'];

  let kills = 0;
  for (let round = 0; round < 4; round++) {
    // Wait until the image is being written, then kill at a varying point of the write.
    const seen = await killWhen(startCli(args(0)).child, () => {
      const tmp = fs.readdirSync(stores[0]!).find((n) => n.endsWith('.partial'));
      return tmp !== undefined && fs.statSync(path.join(stores[0]!, tmp)).size > round * 20_000_000;
    });
    if (!seen) break; // the run finished before we could kill it: nothing more to test this round
    kills++;
    expect(catalogState(dbs[0]!)).toEqual({ volumes: 0, packed: 0, rows: 0 });
    expect(fs.existsSync(path.join(stores[0]!, 'v.iso'))).toBe(false);
  }
  expect(kills).toBeGreaterThan(0);

  // Ctrl-C (SIGINT) while writing: exit 130, the temp file removed, nothing registered.
  const child = startCli(args(0)).child;
  let stderr = '';
  child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  const code = await new Promise<number | null>((resolve) => {
    const t = setInterval(() => {
      const tmp = fs.readdirSync(stores[0]!).find((n) => n.endsWith('.partial') && n.includes(`.${child.pid}.`));
      if (tmp && fs.statSync(path.join(stores[0]!, tmp)).size > 0) {
        clearInterval(t);
        child.kill('SIGINT');
      }
    }, 2);
    child.on('exit', (c) => {
      clearInterval(t);
      resolve(c);
    });
  });
  // Its start removed the temp files of the killed runs (their processes are gone).
  expect(stderr).toMatch(/removing \.v\.iso\.\d+\.partial, left by an interrupted iso create/);
  if (code !== 0) {
    // (code 0 means the run finished before the signal arrived: then it must have registered)
    expect(code, stderr).toBe(130);
    expect(stderr).toMatch(/interrupted: 0 volume\(s\) finished and kept; run iso create again/);
    expect(fs.readdirSync(stores[0]!).filter((n) => n.includes(`.${child.pid}.`))).toEqual([]);
    expect(catalogState(dbs[0]!)).toEqual({ volumes: 0, packed: 0, rows: 0 });
  } else {
    expect(catalogState(dbs[0]!).volumes).toBe(1);
    return;
  }

  // A file under the final name that the catalog does not know (killed between rename and commit).
  fs.writeFileSync(path.join(stores[0]!, 'v.iso'), 'stale');
  const r = await cli(args(0));
  expect(r.code, r.stderr).toBe(0);
  expect(r.stderr).toMatch(/replacing .*v\.iso: it is not in the catalog/);
  expect(fs.readdirSync(stores[0]!)).toEqual(['v.iso']);
  expect(catalogState(dbs[0]!)).toEqual({ volumes: 1, packed: 60, rows: 60 });

  expect((await cli(args(1))).code).toBe(0);
  const hash = sha256File(path.join(stores[0]!, 'v.iso'));
  expect(sha256File(path.join(stores[1]!, 'v.iso'))).toBe(hash);
  const d = new Database(dbs[0]!, { readonly: true });
  expect((d.prepare('SELECT sha256 FROM volumes').pluck().get() as Buffer).toString('hex')).toBe(hash);
  d.close();
});
