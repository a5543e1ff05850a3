import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { cli as run, killWhen, startCli } from '../support/cli.js';
import { PASS } from './site.js';
import { openCatalog } from '../../storage/catalog/db.js';
import { seeded } from '../support/random.js';

const random = seeded('objects/kill-pending.test.ts');

/**
 * SIGKILL during an encrypted `iso create` leaves stored chunks and temporary files in the object
 * store (a killed process cannot clean up). The next run must remove them — and only them — and
 * make the volume; afterwards the store holds exactly the objects the catalog records.
 */
let tmp: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lomo-killpending-'));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const everything = (dir: string): string[] =>
  fs.existsSync(dir) ? fs.readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => path.join(e.parentPath, e.name)) : [];

describe('a killed encrypted iso create', () => {
  it('leaves leftovers that the next run removes before it makes the volume', async () => {
    const lib = path.join(tmp, 'lib');
    fs.mkdirSync(lib);
    for (let i = 0; i < 40; i++) fs.writeFileSync(path.join(lib, `v${i}.mp4`), random.bytes(3_000_000));
    const db = path.join(tmp, 'lomob.db');
    const objects = path.join(tmp, 'objects');
    const env = { LOMOB_MASTER_KEY: PASS };
    const cli = (...args: string[]) => run(['--db', db, ...args], { cwd: tmp, env });
    expect((await cli('scan', lib)).code).toBe(0);
    expect((await cli('init', '--objects-dir', objects)).code).toBe(0);

    // Kill once a few chunks are stored.
    const child = startCli(['--db', db, 'iso', 'create', '--partial'], { cwd: tmp, env }).child;
    const killed = await killWhen(child, () => everything(objects).length >= 3);
    expect(killed, 'the run finished before it could be killed').toBe(true);
    const left = everything(objects);
    expect(left.length).toBeGreaterThan(0);
    const c0 = openCatalog(db);
    expect(c0.prepare('SELECT count(*) FROM objects').pluck().get()).toBe(0);
    expect(c0.prepare('SELECT count(*) FROM pending_objects').pluck().get()).toBe(1);
    c0.close();

    const again = await cli('iso', 'create', '--partial', '--json');
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toMatch(/removed the leftovers of 1 object/);
    for (const f of left) expect(fs.existsSync(f), f).toBe(false);
    const c = openCatalog(db);
    try {
      expect(c.prepare('SELECT count(*) FROM pending_objects').pluck().get()).toBe(0);
      const recorded = new Set((c.prepare('SELECT lower(hex(object_id)) FROM objects').pluck().all() as string[]));
      expect(recorded.size).toBe(2); // the volume and its manifest
      expect(new Set(fs.readdirSync(objects))).toEqual(recorded);
      for (const f of everything(objects)) expect(path.basename(f).startsWith('.'), f).toBe(false);
    } finally {
      c.close();
    }
  });
});
