import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cli, parseJson, tempDir } from '../support/cli.js';

/**
 * Names Linux allows and people find odd (issue 16 point 6): a backslash is an ordinary character;
 * a name with an invalid UTF-8 byte or a newline is listed escaped (\xNN) and can be restored by
 * typing that escaped form. Through the CLI: scan, init, iso create, list files, restore file.
 */
describe('odd file names from scan to restore', () => {
  const { dir, cleanup } = tempDir('lomo-odd-');
  afterAll(() => cleanup());
  const lib = path.join(dir, 'lib');
  const db = path.join(dir, 'site', 'lomob.db');
  const env = { LOMOB_MASTER_KEY: 'odd names passphrase' };
  const names: Buffer[] = [
    Buffer.from('back\\slash.jpg'),
    Buffer.concat([Buffer.from('caf'), Buffer.from([0xe9]), Buffer.from('.jpg')]),
    Buffer.from('two\nlines.jpg'),
  ];

  it('each one is listed on one line, restored by the name list files shows, byte for byte', async () => {
    fs.mkdirSync(lib, { recursive: true });
    names.forEach((n, i) => fs.writeFileSync(Buffer.concat([Buffer.from(lib + '/'), n]), `photo ${i}`));
    expect((await cli(['--db', db, 'scan', lib], { env })).code).toBe(0);
    expect((await cli(['--db', db, 'init', '--kdf-passes', '1'], { env })).code).toBe(0);
    const listed = await cli(['--db', db, 'list', 'files'], { env });
    expect(listed.stdout.trim().split('\n')).toHaveLength(1 + names.length); // header + one line each
    expect(listed.stdout).toContain(`${lib}/back\\slash.jpg`);
    expect(listed.stdout).toContain(`${lib}/caf\\xe9.jpg`);
    expect(listed.stdout).toContain(`${lib}/two\\x0alines.jpg`);
    const shown = parseJson<{ path: string }[]>(await cli(['--db', db, '--json', 'list', 'files'], { env })).map((f) => f.path);
    const iso = await cli(['--db', db, 'iso', 'create', '--partial', '-p', dir], { env });
    expect(iso.code, iso.stderr).toBe(0);
    for (const [i, p] of shown.entries()) {
      const to = path.join(dir, `out${i}`);
      const r = await cli(['--db', db, 'restore', 'file', p, '--to', to], { env });
      expect(r.code, `${p}: ${r.stderr}`).toBe(0);
      const restored = fs.readdirSync(Buffer.from(path.join(to, lib)), { encoding: 'buffer' });
      expect(restored).toHaveLength(1);
      const orig = names.findIndex((n) => n.equals(restored[0]!));
      expect(orig).toBeGreaterThanOrEqual(0);
      expect(fs.readFileSync(Buffer.concat([Buffer.from(path.join(to, lib) + '/'), restored[0]!]), 'utf8')).toBe(`photo ${orig}`);
    }
  });
});
