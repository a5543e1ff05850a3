import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, runCli, tempDir } from '../support/cli.js';

/** Runs the CLI under a pseudo-terminal (util-linux `script`), as a person at a terminal would. */
async function onTty(args: string[], env: Record<string, string> = {}): Promise<string> {
  const r = await cli(args, { tty: true, env: { LOMO_NO_PROGRESS: '', ...env } });
  expect(r.code, r.stdout).toBe(0);
  return r.stdout;
}

const out2name = (json: string) => (JSON.parse(json) as { name: string }[])[0]!.name;

describe('iso create and restore progress bars', () => {
  let dir: string;
  let cleanup: () => void;
  const env = { LOMOB_MASTER_KEY: 'progress test passphrase' };
  beforeAll(() => {
    ({ dir, cleanup } = tempDir());
    fs.mkdirSync(path.join(dir, 'lib'));
    for (let i = 0; i < 4; i++) fs.writeFileSync(path.join(dir, `lib/clip${i}.mp4`), Buffer.alloc(40 << 20, i + 1));
  });
  afterAll(() => cleanup());

  it('draws the volume, files, bytes, rate and ETA on a TTY (plain and encrypted), nothing with --json', async () => {
    const bar = /iso create \[[=> ]+\]\s+\d+%\s+\d+\/4 files\s+[\d.]+ [KMG]?B\/16[0-9.]+ MB\s+[\d.]+ [KMG]?B\/s\s+ETA/;
    for (const mode of ['plain', 'encrypted']) {
      const db = path.join(dir, `${mode}.db`);
      const store = path.join(dir, `store-${mode}`);
      fs.mkdirSync(store);
      expect(runCli(['--db', db, 'scan', path.join(dir, 'lib')]).code).toBe(0);
      if (mode === 'encrypted') expect(runCli(['--db', db, 'init', '--objects-dir', path.join(dir, 'objects')], { env }).code).toBe(0);
      const out = await onTty(['--db', db, 'iso', 'create', '--partial', '-p', store, ...(mode === 'plain' ? ['--no-encrypt'] : [])], env);
      expect(out, mode).toMatch(bar);
      expect(out, mode).toMatch(/4 file\(s\)/); // the summary line after the bar is cleared
    }
    // Restores draw one too.
    const enc = path.join(dir, 'encrypted.db');
    const name = out2name(runCli(['--db', enc, 'iso', 'list', '--json']).stdout);
    const vol = await onTty(['--db', enc, 'restore', 'volume', name, '--to', path.join(dir, 'back')], env);
    expect(vol).toMatch(/restore \[[=> ]+\]\s+\d+%\s+[01]\/1 files\s+[\d.]+ [KMG]?B\/16[0-9.]+ MB\s+[\d.]+ [KMG]?B\/s\s+ETA/);
    const file = await onTty(['--db', enc, 'restore', 'file', path.join(dir, 'lib'), '--to', path.join(dir, 'back-files')], env);
    expect(file).toMatch(/restore \[[=> ]+\]\s+\d+%\s+[0-4]\/4 files\s+[\d.]+ [KMG]?B\/167\.8 MB/);
    const db = path.join(dir, 'json.db');
    expect(runCli(['--db', db, 'scan', path.join(dir, 'lib')]).code).toBe(0);
    const json = await onTty(['--db', db, 'iso', 'create', '--partial', '--no-encrypt', '-p', path.join(dir, 'store-plain'), '--json', '-s', '1G']);
    expect(json).not.toMatch(/ETA/);
    const clean = json.replace(/\r/g, '');
    expect(JSON.parse(clean.slice(clean.indexOf('{'))).volumes).toHaveLength(1); // stderr's INFO line comes first on a TTY
  });
});
