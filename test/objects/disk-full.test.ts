import { describe, expect, it, beforeAll, afterAll } from 'vitest';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { cli as run } from '../support/cli.js';
import { PASS } from './site.js';
import { seeded } from '../support/random.js';

const random = seeded('objects/disk-full.test.ts');

/**
 * A full disk under `iso create`: the object folder (encrypted) or the store folder (plain) is a
 * 12 MB tmpfs and the volume is ~25 MB. The command must say the disk is full and what to do, exit
 * 9 (storage), and leave nothing behind: no temporary or stored chunk, no partial image, no
 * volume in the catalog. A re-run once there is room makes the volume. Needs root (mount), as the
 * network namespace tests do.
 */
let tmp: string;
let small: string;
beforeAll(() => {
  if (process.getuid?.() !== 0) throw new Error('this test mounts a tmpfs: run it as root (the CI does)');
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lomo-full-'));
  small = path.join(tmp, 'small');
  fs.mkdirSync(small);
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=12m', 'tmpfs', small]);
});
afterAll(() => {
  if (small) execFileSync('umount', [small]);
  fs.rmSync(tmp, { recursive: true, force: true });
});

function filesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...filesUnder(p));
    else out.push(p);
  }
  return out;
}

describe('iso create on a full disk', () => {
  it('encrypted and plain: a clear error, exit 9, nothing half-written, and a re-run with room succeeds', async () => {
    const lib = path.join(tmp, 'lib');
    fs.mkdirSync(lib);
    for (let i = 0; i < 5; i++) fs.writeFileSync(path.join(lib, `video${i}.mp4`), random.bytes(5_000_000));
    const db = path.join(tmp, 'lomob.db');
    const cli = (...args: string[]) => run(['--db', db, ...args], { cwd: tmp, env: { LOMOB_MASTER_KEY: PASS } });
    expect((await cli('scan', lib)).code).toBe(0);
    expect((await cli('init', '--objects-dir', path.join(tmp, 'objects'))).code).toBe(0);

    const objects = path.join(small, 'objects');
    const enc = await cli('iso', 'create', '--partial', '--objects-dir', objects);
    expect(enc.code, enc.stderr).toBe(9);
    expect(enc.stderr).toMatch(/disk is full|out of space/);
    expect(enc.stderr).toContain(objects);
    expect(enc.stderr).not.toMatch(/unexpected failure|\n\s+at /);
    expect(fs.existsSync(objects) ? filesUnder(objects) : []).toEqual([]);

    const plain = await cli('iso', 'create', '--partial', '--no-encrypt', '-p', small);
    expect(plain.code, plain.stderr).toBe(9);
    expect(plain.stderr).toMatch(/disk is full/);
    expect(plain.stderr).not.toMatch(/unexpected failure|\n\s+at /);
    expect(filesUnder(small)).toEqual([]);

    const list = await cli('iso', 'list', '--json');
    expect(JSON.parse(list.stdout)).toEqual([]);

    // With room, the same command makes the volume.
    const room = path.join(tmp, 'objects-big');
    const again = await cli('iso', 'create', '--partial', '--objects-dir', room, '--json');
    expect(again.code, again.stderr).toBe(0);
    expect(JSON.parse(again.stdout).volumes).toHaveLength(1);
  });
});
