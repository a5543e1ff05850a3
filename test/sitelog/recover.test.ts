/**
 * Disaster drill, network half (issue 14, 5): A pairs with B, then scans, inits (its object store in a folder outside
 * its data folder, standing in for a NAS), packs and archives a volume and syncs its
 * log to B; then A's node stops and A's data folder is deleted. `lomo-peer recover` in a new folder
 * with an invite from B and the passphrase gives back the same listings and bit-exact restores,
 * and B then trusts the new machine as household A. A wrong passphrase and a garbled or expired
 * code are refused with their exit codes and write nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { cli, type CliOptions } from '../support/cli.js';
import { startFamily, type Family } from '../support/nodes.js';
import { seeded } from '../support/random.js';

const random = seeded('sitelog/recover.test.ts');
const PASS = 'the family passphrase';
const env = { LOMOB_MASTER_KEY: PASS, AWS_ACCESS_KEY_ID: '', AWS_SECRET_ACCESS_KEY: '', AWS_ENDPOINT_URL: '', LOMO_GDRIVE_ROOT_URL: '' };

let family: Family;
beforeAll(async () => {
  // A family of two: each volume is kept by the one other household (sync --wait waits for it).
  family = await startFamily(['A', 'B'], ['--replicas', '1']);
}, 90_000);
afterAll(async () => family?.stop());

describe('lomo-peer recover', () => {
  it('brings a household back from an invite and its passphrase; the family trusts the new machine in its place', async () => {
    const [a, b] = family.nodes as [(typeof family.nodes)[0], (typeof family.nodes)[0]];
    const tmp = family.root;
    const lib = path.join(tmp, 'lib');
    const nas = path.join(tmp, 'nas');
    const files: Record<string, Buffer> = {
      'a/one.jpg': random.bytes(600_000),
      'a/deep/two.mov': random.bytes(1_200_000),
      'b/three.txt': Buffer.from('three\n'),
      'four.png': random.bytes(200_000),
    };
    for (const [p, data] of Object.entries(files)) {
      fs.mkdirSync(path.dirname(path.join(lib, p)), { recursive: true });
      fs.writeFileSync(path.join(lib, p), data);
    }
    const run = (db: string, args: string[], o: CliOptions = {}) => cli(['--db', db, ...args], { env, cwd: tmp, timeoutMs: 120_000, ...o });
    const ok = async (db: string, ...args: string[]) => {
      const r = await run(db, args);
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(0);
      return r;
    };

    // A's life before the loss. It pairs before `init`: its log starts with membership entries
    // signed by its node key, and its site record comes later (recover finds it there).
    await family.pair();
    await ok(a.db, 'scan', lib);
    await ok(a.db, 'init', '--kdf-passes', '1', '--objects-dir', path.join(nas, 'objects'));
    fs.mkdirSync(path.join(a.dir, 'isos'));
    await ok(a.db, 'iso', 'create', '--partial', '-p', path.join(a.dir, 'isos'));
    await ok(a.db, 'upload', 'iso', '--target', `file://${path.join(nas, 'archive')}`);
    await ok(a.db, 'sync', '--wait', '--timeout', '60s');
    const listings = async (db: string) => ({
      files: (await ok(db, 'list', 'files', '--json')).stdout,
      dirs: (await ok(db, 'list', 'dirs', '--json')).stdout,
      isos: (await ok(db, 'iso', 'list', '--json')).stdout,
    });
    const before = await listings(a.db);
    expect(JSON.parse(before.isos)).toHaveLength(1);
    const oldId = a.peerId;

    // The loss.
    await a.stop();
    fs.rmSync(a.dir, { recursive: true, force: true });
    const site2 = path.join(tmp, 'a2');
    const db2 = path.join(site2, 'lomob.db');
    const nothingWritten = () => expect(fs.existsSync(site2), 'the new data folder stays untouched').toBe(false);

    // Refusals first: each writes nothing.
    const garbled = await run(db2, ['recover', 'lomo1-not-a-code']);
    expect(garbled.code, garbled.stderr).toBe(8);
    nothingWritten();
    const expiredCode = await b.invite(['--expires', '1s']);
    await new Promise((r) => setTimeout(r, 1100)); // an invite expiring is the behaviour under test
    const expired = await run(db2, ['recover', '-'], { input: expiredCode });
    expect(expired.code, expired.stderr).toBe(8);
    nothingWritten();
    const wrong = await run(db2, ['recover', '-'], { input: await b.invite(), env: { ...env, LOMOB_MASTER_KEY: 'not the passphrase' } });
    expect(wrong.code, wrong.stderr).toBe(6);
    expect(wrong.stderr).toMatch(/wrong passphrase/);
    nothingWritten();

    // The recovery, measured.
    const rec = await run(db2, ['--json', 'recover', '-'], { input: await b.invite(), wrap: ['/usr/bin/time', '-f', 'TIME %e s, peak RSS %M KiB'] });
    expect(rec.code, rec.stderr).toBe(0);
    const figure = /TIME .*/.exec(rec.stderr)?.[0];
    console.log(`recover of the drill's site (${Object.keys(files).length} files, 1 volume): ${figure}`);
    const out = JSON.parse(rec.stdout);
    expect(out).toMatchObject({ site: oldId, files: Object.keys(files).length, volumes: 1, familyInformed: true });
    expect(out.peerId).not.toBe(oldId);

    const after = await listings(db2);
    expect(JSON.parse(after.files)).toEqual(JSON.parse(before.files));
    expect(JSON.parse(after.dirs)).toEqual(JSON.parse(before.dirs));
    expect(JSON.parse(after.isos)).toEqual(JSON.parse(before.isos));

    const restored = path.join(tmp, 'restored');
    const rf = await run(db2, ['restore', 'file', lib, '--to', restored, '--objects-dir', path.join(nas, 'objects')]);
    expect(rf.code, rf.stderr).toBe(0);
    for (const [p, data] of Object.entries(files)) expect(fs.readFileSync(path.join(restored + lib, p)).equals(data), p).toBe(true);

    // B got the succession: the new machine is household A (its label), the lost machine is out.
    const peers = JSON.parse((await ok(b.db, 'peers', '--json')).stdout) as { peerId: string; name: string; state: string }[];
    // (the refused attempt with the wrong passphrase paired a throw-away identity with B: it is listed too)
    expect(peers.map((p) => p.peerId), JSON.stringify(peers)).not.toContain(oldId);
    expect(peers.find((p) => p.peerId === out.peerId), JSON.stringify(peers)).toMatchObject({ name: 'A', state: 'trusted' });
    const all = JSON.parse((await ok(b.db, 'peers', '--all', '--json')).stdout) as { peerId: string; state: string }[];
    expect(all.find((p) => p.peerId === oldId)?.state).toBe('revoked');

    // The recovered site goes on: a scan is logged, signed by the new machine.
    await ok(db2, 'scan', lib);
  }, 300_000);
});
