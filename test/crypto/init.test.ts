import { describe, expect, it, beforeAll, afterAll } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { cli as run } from '../support/cli.js';
import { parseRecoveryKit } from '../../storage/crypto/recovery-kit.js';
import { loadSodium } from '../../storage/crypto/sodium.js';
import { deriveSiteKeys } from '../../storage/crypto/keys.js';

let tmp: string;
const PASS = 'correct horse battery staple';

beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lomo-init-'));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('lomo-peer init', () => {
  it('creates identity, keys and a recovery kit without the passphrase; refuses a second init', async () => {
    const dir = path.join(tmp, 'a');
    const r = await run(['--db', path.join(dir, 'lomob.db'), 'init', '-k', PASS]);
    expect(r.code, r.stderr).toBe(0);
    const kitText = fs.readFileSync(path.join(dir, 'recovery-kit.txt'), 'utf8');
    expect(r.stdout).toContain(kitText.trim().split('\n').at(-1));
    expect(kitText).not.toContain(PASS);
    const kit = parseRecoveryKit(kitText);
    expect(kit.siteId).toMatch(/^12D3KooW/);
    expect(kit.kdf.memlimit).toBeGreaterThanOrEqual(64 * 1024 * 1024);
    expect(kit.kdf.salt.length).toBe(16);
    expect(kit.formatVersion).toBe(1);
    expect(fs.existsSync(path.join(dir, 'identity.key'))).toBe(true);
    // The kit and the passphrase alone reproduce the key check stored in the catalog.
    const keys = deriveSiteKeys(await loadSodium(), PASS, kit.kdf);
    expect(Buffer.from(keys.checkValue).equals(Buffer.from(kit.keyCheck))).toBe(true);
    const db = new Database(path.join(dir, 'lomob.db'), { readonly: true });
    const row = db.prepare('SELECT * FROM site_keys').get() as { key_check: Buffer; salt: Buffer; site_id: string };
    db.close();
    expect(row.key_check.equals(Buffer.from(kit.keyCheck))).toBe(true);
    expect(row.site_id).toBe(kit.siteId);
    for (const f of fs.readdirSync(dir)) {
      if (fs.statSync(path.join(dir, f)).isFile()) expect(fs.readFileSync(path.join(dir, f)).includes(Buffer.from(PASS))).toBe(false);
    }
    const again = await run(['--db', path.join(dir, 'lomob.db'), 'init', '-k', PASS]);
    expect(again.code).toBe(2);
    expect(again.stderr).toContain('already initialized');
  });

  it('takes LOMOB_MASTER_KEY, or asks twice on stdin and rejects a mismatch or a short passphrase', async () => {
    const env = await run(['--db', path.join(tmp, 'b/lomob.db'), 'init', '--json'], { env: { LOMOB_MASTER_KEY: PASS } });
    expect(env.code, env.stderr).toBe(0);
    expect(JSON.parse(env.stdout).kdf.alg).toBe('argon2id13');

    const mismatch = await run(['--db', path.join(tmp, 'c/lomob.db'), 'init'], { input: 'first passphrase\nsecond passphrase\n', env: { LOMOB_MASTER_KEY: undefined } });
    expect(mismatch.code).toBe(2);
    expect(mismatch.stderr).toContain('differ');
    expect(fs.existsSync(path.join(tmp, 'c/recovery-kit.txt'))).toBe(false);

    const short = await run(['--db', path.join(tmp, 'd/lomob.db'), 'init'], { input: 'abc\nabc\n', env: { LOMOB_MASTER_KEY: undefined } });
    expect(short.code).toBe(2);
    expect(short.stderr).toContain('too short');

    const prompted = await run(['--db', path.join(tmp, 'e/lomob.db'), 'init'], { input: `${PASS}\n${PASS}\n`, env: { LOMOB_MASTER_KEY: undefined } });
    expect(prompted.code, prompted.stderr).toBe(0);
    expect(prompted.stderr).toMatch(/strength: about \d+ bits/);

    const weakMem = await run(['--db', path.join(tmp, 'f/lomob.db'), 'init', '-k', PASS, '--kdf-memory', '16MiB']);
    expect(weakMem.code).toBe(2);
    expect(weakMem.stderr).toContain('at least 64MiB');
  });
});
