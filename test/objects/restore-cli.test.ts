import { describe, expect, it, beforeAll, afterAll } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { ROOT, runCommand } from '../support/cli.js';
import { makeSite, filesUnder, PASS, type Site } from './site.js';
import { loadSodium } from '../../storage/crypto/sodium.js';
import { deriveSiteKeys } from '../../storage/crypto/keys.js';
import { parseRecoveryKit } from '../../storage/crypto/recovery-kit.js';
import { FileTier } from '../../storage/tiers/file.js';
import { recoverManifests, recordFromManifest } from '../../storage/objects/manifest.js';
import { readRange } from '../../storage/objects/reader.js';
import { openCatalog } from '../../storage/catalog/db.js';

let tmp: string;
let site: Site;
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lomo-restore-'));
  site = await makeSite(path.join(tmp, 'site'), { 'a.bin': 3_000_000, 'sub/b.jpg': 2_000_000, 'sub/c.txt': Buffer.from('hello\n'), 'deep/x/y/z.dat': 70_000 });
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('restore from encrypted volumes', () => {
  it('iso create wrote ciphertext only: no plain image, no plaintext in the object store', () => {
    expect(fs.readdirSync(site.dir).filter((n) => n.endsWith('.iso'))).toEqual([]);
    const chunk = fs.readFileSync(path.join(site.objects, site.volumeObject, '00000'));
    expect(chunk.subarray(0, 8).toString('latin1')).toBe('LOMOOBJ\0');
    expect(chunk.includes(Buffer.from('hello\n'))).toBe(false);
    expect(chunk.includes(Buffer.from('CD001'))).toBe(false); // the ISO 9660 signature is encrypted too
  });

  it('restore volume gives back the plain ISO that bsdtar reads', async () => {
    const out = path.join(tmp, 'vol');
    const r = await site.cli('restore', 'volume', site.volume, '--to', out, '--json');
    expect(r.code, r.stderr).toBe(0);
    const iso = path.join(out, site.volume);
    const listing = execFileSync('bsdtar', ['-tf', iso]).toString();
    expect(listing).toContain('sub/c.txt');
    expect(listing).toContain('deep/x/y/z.dat');
    expect(JSON.parse(r.stdout).sha256).toBe(sha(fs.readFileSync(iso)));
  });

  it('restore file writes byte-identical files inside --to, under their library path', async () => {
    const out = path.join(tmp, 'files');
    const r = await site.cli('restore', 'file', path.join(site.lib, 'a.bin'), path.join(site.lib, 'sub'), '--to', out, '--json');
    expect(r.code, r.stderr).toBe(0);
    for (const rel of ['a.bin', 'sub/b.jpg', 'sub/c.txt']) {
      const got = fs.readFileSync(path.join(out, site.lib, rel));
      expect(sha(got)).toBe(sha(fs.readFileSync(path.join(site.lib, rel))));
    }
    expect(filesUnder(out).length).toBe(3);
    expect(fs.statSync(path.join(out, site.lib, 'a.bin')).mtimeMs).toBeCloseTo(fs.statSync(path.join(site.lib, 'a.bin')).mtimeMs, -1);
  });

  it('a wrong passphrase exits 6 with "wrong passphrase" and creates nothing', async () => {
    const out = path.join(tmp, 'wrong');
    for (const args of [['restore', 'volume', site.volume], ['restore', 'file', path.join(site.lib, 'a.bin')]]) {
      const r = await site.cli(...args, '--to', out, '-k', 'not the passphrase');
      expect(r.code).toBe(6);
      expect(r.stderr).toContain('wrong passphrase');
      expect(fs.existsSync(out)).toBe(false);
    }
  });

  it('iso create with a wrong passphrase exits 6 and writes nothing', async () => {
    fs.writeFileSync(path.join(site.lib, 'later.bin'), Buffer.alloc(12_000_000, 7));
    expect((await site.cli('scan', site.lib)).code).toBe(0);
    const before = filesUnder(site.objects).sort();
    const r = await site.cli('iso', 'create', '--partial', '-k', 'not the passphrase');
    expect(r.code, r.stderr).toBe(6);
    expect(r.stderr).toContain('wrong passphrase');
    expect(filesUnder(site.objects).sort()).toEqual(before); // no chunk, no temporary
    const c = openCatalog(site.db);
    try {
      expect(c.prepare('SELECT count(*) FROM pending_objects').pluck().get()).toBe(0);
      expect(c.prepare('SELECT count(*) FROM volumes').pluck().get()).toBe(1);
    } finally {
      c.close();
    }
    fs.rmSync(path.join(site.lib, 'later.bin'));
    expect((await site.cli('scan', site.lib)).code).toBe(0);
  });

  it('deploy/decrypt-volume.js (libsodium-wrappers only, <= 60 lines) decrypts the volume; bsdtar lists it', async () => {
    const script = path.join(ROOT, 'deploy/decrypt-volume.js');
    expect(fs.readFileSync(script, 'utf8').split('\n').filter((l, i, a) => i < a.length - 1 || l).length).toBeLessThanOrEqual(60);
    const out = path.join(tmp, 'indep.iso');
    const r = await runCommand([process.execPath, script, path.join(site.dir, 'recovery-kit.txt'), path.join(site.objects, site.volumeObject), out], {
      env: { LOMOB_MASTER_KEY: PASS },
    });
    expect(r.code, r.stderr).toBe(0);
    const listing = execFileSync('bsdtar', ['-tf', out]).toString();
    expect(listing).toContain('sub/b.jpg');
    expect(sha(fs.readFileSync(out))).toBe(sha(fs.readFileSync(path.join(tmp, 'vol', site.volume))));
    const wrong = await runCommand([process.execPath, script, path.join(site.dir, 'recovery-kit.txt'), path.join(site.objects, site.volumeObject), out + '2'], {
      env: { LOMOB_MASTER_KEY: 'nope' },
    });
    expect(wrong.code).toBe(6);
    expect(wrong.stderr).toContain('wrong passphrase');
    expect(wrong.stderr).not.toMatch(/\n\s+at /); // a message, no stack trace
    expect(fs.existsSync(out + '2')).toBe(false);
  });

  it('the encrypted manifest alone (objects + passphrase + kit, no catalog) says where every file is', async () => {
    const kit = parseRecoveryKit(fs.readFileSync(path.join(site.dir, 'recovery-kit.txt'), 'utf8'));
    const sodium = await loadSodium();
    const ctx = { sodium, keys: deriveSiteKeys(sodium, PASS, kit.kdf), tier: new FileTier(site.objects) };
    const [m] = await recoverManifests(ctx);
    expect(m!.volume.name).toBe(site.volume);
    expect(m!.siteId).toBe(kit.siteId);
    const c = m!.files.find((f) => Buffer.from(f.path, 'base64').toString() === path.join(site.lib, 'sub/c.txt'))!;
    expect(c.size).toBe(6);
    const bytes = await readRange(ctx, recordFromManifest(m!), c.offset, c.length);
    expect(bytes.toString()).toBe('hello\n');
    expect(c.sha256).toBe(sha(Buffer.from('hello\n')));
  });
});
