/**
 * Disaster drill, library half (issue 14, 5): a site scans, inits, stages files to a folder tier,
 * packs and archives a volume, scans again after an edit and a delete; then its catalog is lost.
 * Only its own log entries and its passphrase go into a fresh catalog (recoverSite): the listings
 * print what they printed before, and `restore file` of every file from the object store (a
 * folder outside the data folder, standing in for a NAS) is bit-exact. A wrong passphrase writes
 * nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { cli as runCli } from '../support/cli.js';
import { seeded } from '../support/random.js';
import { openCatalog, type Db } from '../../storage/catalog/db.js';
import { entriesOf } from '../../storage/sitelog/store.js';
import { localLogState } from '../../storage/sitelog/local-log.js';
import { recoverSite } from '../../storage/sitelog/rebuild.js';
import { WrongPassphraseError } from '../../storage/crypto/keys.js';
import { KIND, type SiteLogEntry } from '../../storage/sitelog/entry.js';
import { decodeBody } from '../../storage/sitelog/body.js';
import { SiteLogError } from '../../storage/sitelog/errors.js';
import { loadOrCreateIdentity } from '../../node/identity.js';
import { signingKeyOf } from '../../node/site-log.js';

const random = seeded('sitelog/rebuild.test.ts');
const PASS = 'the family passphrase';
let tmp: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lomo-rebuild-'));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const env = { LOMOB_MASTER_KEY: PASS, AWS_ACCESS_KEY_ID: '', AWS_SECRET_ACCESS_KEY: '', AWS_ENDPOINT_URL: '', LOMO_GDRIVE_ROOT_URL: '' };

function ownEntries(dbFile: string): SiteLogEntry[] {
  const db = openCatalog(dbFile);
  try {
    const origin = localLogState(db)!.origin;
    return entriesOf(db, origin, 1, 1_000_000);
  } finally {
    db.close();
  }
}

function tableCounts(db: Db): Record<string, number> {
  const out: Record<string, number> = {};
  for (const t of ['site_keys', 'scan_roots', 'dirs', 'files', 'volumes', 'objects', 'placements', 'sitelog_entries', 'sitelog_local']) {
    out[t] = db.prepare(`SELECT count(*) FROM ${t}`).pluck().get() as number;
  }
  return out;
}

describe('rebuilding a catalog from the site\'s own log', () => {
  it('gives back listings and bit-exact restores; a wrong passphrase writes nothing', async () => {
    const lib = path.join(tmp, 'lib');
    const files: Record<string, Buffer> = {
      'a/one.jpg': random.bytes(700_000),
      'a/deep/two.mov': random.bytes(1_500_000),
      'b/three.txt': Buffer.from('three\n'),
      'b/edited.txt': Buffer.from('before the edit\n'),
      'gone.png': random.bytes(300_000),
      [Buffer.from([0x6e, 0xe9, 0x2e, 0x74]).toString('latin1')]: random.bytes(1234), // a name that is not UTF-8
    };
    const put = (p: string, b: Buffer) => {
      const full = Buffer.concat([Buffer.from(lib + '/'), Buffer.from(p, 'latin1')]);
      fs.mkdirSync(path.dirname(full.toString('latin1')), { recursive: true });
      fs.writeFileSync(full, b);
    };
    for (const [p, b] of Object.entries(files)) put(p, b);
    fs.mkdirSync(path.join(lib, 'empty'));
    fs.symlinkSync('a/one.jpg', path.join(lib, 'link'));

    const site = path.join(tmp, 'site');
    fs.mkdirSync(site);
    const db = path.join(site, 'lomob.db');
    const nas = path.join(tmp, 'nas');
    const cli = (...args: string[]) => runCli(['--db', db, ...args], { env, cwd: tmp });
    const ok = async (...args: string[]) => {
      const r = await cli(...args);
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(0);
      return r;
    };
    await ok('scan', lib);
    await ok('init', '--kdf-passes', '1', '--objects-dir', path.join(nas, 'objects'));
    await ok('upload', 'files', '--target', `file://${path.join(nas, 'staging')}`);
    fs.mkdirSync(path.join(site, 'isos'));
    await ok('iso', 'create', '--partial', '-p', path.join(site, 'isos'));
    await ok('upload', 'iso', '--target', `file://${path.join(nas, 'archive')}`);
    // After the volume: an edit, a delete and a new file, staged again.
    files['b/edited.txt'] = Buffer.from('after the edit, longer\n');
    put('b/edited.txt', files['b/edited.txt']);
    fs.rmSync(path.join(lib, 'gone.png'));
    delete files['gone.png'];
    files['new.bin'] = random.bytes(50_000);
    put('new.bin', files['new.bin']);
    await ok('scan', lib);
    await ok('upload', 'files', '--target', `file://${path.join(nas, 'staging')}`);

    const listings = async (c: (...a: string[]) => ReturnType<typeof cli>) => ({
      files: (await c('list', 'files', '--json')).stdout,
      dirs: (await c('list', 'dirs', '--json')).stdout,
      isos: (await c('iso', 'list', '--json')).stdout,
    });
    const before = await listings(cli);
    expect(JSON.parse(before.isos)).toHaveLength(1);

    const entries = ownEntries(db);
    const kinds = new Set(entries.map((e) => e.kind));
    for (const k of [KIND.siteRecord, KIND.objectSealed, KIND.catalogDelta, KIND.placement]) expect(kinds.has(k), `kind ${k}`).toBe(true);
    // Public entries name no path: a peer learns sizes and hashes of ciphertext only.
    const text = Buffer.concat(entries.filter((e) => e.kind !== KIND.catalogDelta).map((e) => e.bytes)).toString('latin1');
    expect(text).not.toContain('one.jpg');
    expect(text).not.toContain(lib);

    // The loss: a new data folder; only the log and the passphrase come back.
    const site2 = path.join(tmp, 'site2');
    fs.mkdirSync(site2);
    const db2 = path.join(site2, 'lomob.db');

    const c0 = openCatalog(db2);
    await expect(recoverSite(c0, { entries, passphrase: 'not the passphrase' })).rejects.toBeInstanceOf(WrongPassphraseError);
    expect(Object.values(tableCounts(c0)).every((n) => n === 0), JSON.stringify(tableCounts(c0))).toBe(true);
    // A changed byte anywhere: refused before anything is written.
    const forged = entries.map((e) => e.bytes);
    const i = entries.findIndex((e) => e.kind === KIND.catalogDelta);
    forged[i] = Buffer.from(forged[i]!);
    forged[i]![120] ^= 1;
    await expect(recoverSite(c0, { entries: forged, passphrase: PASS })).rejects.toBeInstanceOf(SiteLogError);
    expect(Object.values(tableCounts(c0)).every((n) => n === 0)).toBe(true);

    const identity = await loadOrCreateIdentity(site2);
    const r = await recoverSite(c0, { entries: entries.map((e) => e.bytes), passphrase: PASS, successor: signingKeyOf(identity.privateKey) });
    expect(r.successionSeq).toBe(entries.length + 1);
    expect(r.files).toBeGreaterThan(0);
    const last = entriesOf(c0, r.origin, entries.length + 1);
    expect(decodeBody(last[0]!.kind, last[0]!.body)).toMatchObject({ kind: 'succession' });
    c0.close();

    const cli2 = (...args: string[]) => runCli(['--db', db2, ...args], { env, cwd: tmp });
    const after = await listings(cli2);
    expect(JSON.parse(after.files)).toEqual(JSON.parse(before.files));
    expect(JSON.parse(after.dirs)).toEqual(JSON.parse(before.dirs));
    expect(JSON.parse(after.isos)).toEqual(JSON.parse(before.isos));
    expect(after).toEqual(before);

    const out = path.join(tmp, 'out');
    const rf = await cli2('restore', 'file', lib, '--to', out, '--objects-dir', path.join(nas, 'objects'), '--json');
    expect(rf.code, rf.stderr).toBe(0);
    for (const [p, b] of Object.entries(files)) {
      const got = fs.readFileSync(Buffer.concat([Buffer.from(out + lib + '/'), Buffer.from(p, 'latin1')]));
      expect(got.equals(b), p).toBe(true);
    }

    // The recovered site goes on writing its log, signed by its new identity.
    await ok('scan', lib); // the old catalog still works too (it is the lost machine's)
    const more = await cli2('scan', lib, '--json');
    expect(more.code, more.stderr).toBe(0);
  }, 240_000);
});
