/**
 * The same lomob flow with no cloud account at all: staging and archive go to the embedded
 * default folder tiers (<data-dir>/staging, <data-dir>/archive). scan -> upload files -> list files
 * / list gdrive -> restore gdrive -> iso create -> upload iso -> list iso -> staging cleanup ->
 * restore aws, bytes verified.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { cli as runCli } from '../support/cli.js';
import { seeded } from '../support/random.js';

const random = seeded('tiers/flow-file.test.ts');

let dir: string;
const noCloud = { LOMOB_MASTER_KEY: 'file tier passphrase', AWS_ACCESS_KEY_ID: '', AWS_SECRET_ACCESS_KEY: '', AWS_ENDPOINT_URL: '', LOMO_GDRIVE_ROOT_URL: '' };
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lomo-fileflow-'));
}, 240_000);
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('lomob flow on the embedded folder tiers (no credentials)', () => {
  it('stages, archives, cleans and restores without any cloud', async () => {
    const lib = path.join(dir, 'lib');
    fs.mkdirSync(path.join(lib, 'p'), { recursive: true });
    const files: Record<string, Buffer> = { 'p/one.jpg': random.bytes(2_000_000), 'p/two.mov': random.bytes(5_000_000), 'three.txt': Buffer.from('3\n') };
    for (const [p, b] of Object.entries(files)) fs.writeFileSync(path.join(lib, p), b);
    const db = path.join(dir, 'lomob.db');
    const cli = (args: string[]) => runCli(['--db', db, ...args], { env: noCloud });
    expect((await cli(['scan', lib])).code).toBe(0);
    expect((await cli(['init', '--kdf-passes', '1'])).code).toBe(0);

    const up = await cli(['upload', 'files', '--json']);
    expect(up.code, up.stderr).toBe(0);
    expect(up.stderr).toMatch(/using the local folder tier file:\/\/.*\/staging/);
    expect(JSON.parse(up.stdout).uploaded).toBe(3);
    const staged = execFileSync('find', [path.join(dir, 'staging'), '-type', 'f']).toString();
    for (const n of ['one.jpg', 'two.mov', 'three.txt', '/p/']) expect(staged).not.toContain(n);
    expect((await cli(['list', 'files'])).stdout.split('\n').filter((l) => /^Y\s/.test(l))).toHaveLength(3);
    const tree = await cli(['list', 'gdrive']);
    expect(tree.stdout).toMatch(new RegExp(`\\[ 2000000 [\\d/]+ ${sha(files['p/one.jpg']!).slice(0, 6)} [0-9a-f]{6}\\] one.jpg`));
    const out1 = path.join(dir, 'one.jpg');
    expect((await cli(['restore', 'gdrive', path.join(lib, 'p/one.jpg'), out1])).code).toBe(0);
    expect(fs.readFileSync(out1).equals(files['p/one.jpg']!)).toBe(true);

    expect((await cli(['iso', 'create', '--partial', '-p', dir])).code).toBe(0);
    const ui = await cli(['upload', 'iso', '--json']);
    expect(ui.code, ui.stderr).toBe(0);
    const [vol] = JSON.parse(ui.stdout).uploaded as { name: string; key: string }[];
    // lomob's layout (scan-root folder / volume), with the root's name as a keyed token: no path in clear.
    expect(vol!.key).toMatch(new RegExp(`^[0-9a-f]{30}/${vol!.name.replace(/\./g, '\\.')}$`));
    expect(fs.existsSync(path.join(dir, 'archive', vol!.key))).toBe(true);
    expect(fs.existsSync(path.join(dir, 'archive', `${vol!.key}.manifest`))).toBe(true);
    expect((await cli(['list', 'iso'])).stdout).toMatch(/Uploaded\s+local/);

    const clean = await cli(['upload', 'files', '--json']);
    expect(JSON.parse(clean.stdout).removedArchived).toBe(3);
    expect(execFileSync('find', [path.join(dir, 'staging'), '-type', 'f']).toString().trim()).toBe('');

    const out = path.join(dir, 'back.iso');
    const ra = await cli(['restore', 'aws', vol!.name, out]);
    expect(ra.code, ra.stderr).toBe(0);
    const x = path.join(dir, 'x');
    fs.mkdirSync(x);
    execFileSync('bsdtar', ['-xf', out, '-C', x]);
    for (const [p, b] of Object.entries(files)) {
      const found = execFileSync('find', [x, '-path', `*/${p}`]).toString().trim();
      expect(fs.readFileSync(found).equals(b), p).toBe(true);
    }
  }, 240_000);
});
