/**
 * The Drive staging clean-up through the CLI against the Drive emulator: `upload files` removes the
 * staged copies of archived files one by one, by id, and touches nothing else of the user's Drive —
 * in particular not the user's trash (files.emptyTrash would delete every trashed file of the user,
 * whoever made it). Once with a token of the whole-Drive scope (what lomob's sign-in gave), once
 * with the drive.file token `util gcloud-auth` now asks for (emptyTrash is not even allowed there).
 * The archive is a folder tier (`upload iso --target`): no S3 needed to reach the clean-up.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { DriveEmulator } from '../emulators/gdrive/server.js';
import { DRIVE_FILE, DRIVE_FULL } from '../emulators/gdrive/oauth.js';
import { cli as runCli, tempDir } from '../support/cli.js';
import { seeded } from '../support/random.js';

const random = seeded('tiers/gdrive-cli.test.ts');

let emu: DriveEmulator;
let dir: string;
let cleanup: () => void;

beforeAll(async () => {
  emu = await new DriveEmulator({ quotaLimit: 100 * 1024 * 1024 }).start();
  ({ dir, cleanup } = tempDir('lomo-gdrive-cli-'));
  fs.writeFileSync(
    path.join(dir, 'gdrive-credentials.json'),
    JSON.stringify({ installed: { client_id: emu.oauth.client.clientId, client_secret: emu.oauth.client.clientSecret, auth_uri: emu.authUrl, token_uri: emu.tokenUrl } }),
  );
}, 60_000);
afterAll(async () => {
  await emu?.stop();
  cleanup?.();
});

const env = { LOMOB_MASTER_KEY: 'drive clean-up passphrase', AWS_ACCESS_KEY_ID: '', AWS_SECRET_ACCESS_KEY: '', AWS_ENDPOINT_URL: '', LOMO_RETRY_BASE_MS: '5' };
const db = () => path.join(dir, 'lomob.db');
const cli = (args: string[]) => runCli(['--db', db(), ...args], { env: { ...env, HOME: dir, LOMO_GDRIVE_ROOT_URL: emu.url }, timeoutMs: 120_000 });
const drive = (args: string[]) => cli([...args, '--cred', path.join(dir, 'gdrive-credentials.json'), '--token', path.join(dir, 'gdrive-token.json')]);
const useToken = (scope: string) => fs.writeFileSync(path.join(dir, 'gdrive-token.json'), JSON.stringify({ refresh_token: emu.oauth.grant(scope).refresh_token }), { mode: 0o600 });

/** Stages what is new, archives it to a folder tier, then runs the clean-up `upload files`. */
async function stageArchiveClean(): Promise<{ removedArchived: number }> {
  const lib = path.join(dir, 'lib');
  expect((await cli(['scan', lib])).code).toBe(0);
  const uploads = emu.apiRequests().filter((r) => r.path.startsWith('/upload/')).length;
  const staged = await drive(['upload', 'files', '--json']);
  expect(staged.code, staged.stderr).toBe(0);
  const { uploaded } = JSON.parse(staged.stdout) as { uploaded: number };
  expect(uploaded).toBeGreaterThan(0);
  expect(emu.apiRequests().filter((r) => r.path.startsWith('/upload/')).length).toBe(uploads + uploaded); // on Drive, not a folder
  const iso = await cli(['iso', 'create', '--partial', '-p', dir]);
  expect(iso.code, iso.stderr).toBe(0);
  const up = await cli(['upload', 'iso', '--target', `file://${path.join(dir, 'archive')}`]);
  expect(up.code, up.stderr).toBe(0);
  const clean = await drive(['upload', 'files', '--json']);
  expect(clean.code, clean.stderr).toBe(0);
  return JSON.parse(clean.stdout) as { removedArchived: number };
}

describe('upload files: the staging clean-up deletes only our own copies', () => {
  it("never empties the user's trash, with a whole-Drive token or a drive.file one", async () => {
    fs.mkdirSync(path.join(dir, 'lib', 'p'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'lib', 'p', 'one.jpg'), random.bytes(300_000));
    fs.writeFileSync(path.join(dir, 'lib', 'two.txt'), 'two\n');
    expect((await cli(['scan', path.join(dir, 'lib')])).code).toBe(0);
    expect((await cli(['init', '--kdf-passes', '1'])).code).toBe(0);
    // The user's own things: a trashed document made in the web UI, a trashed file another run of
    // this app (same OAuth client, e.g. lomob) left, and a document in My Drive.
    const taxes = emu.store.create({ name: 'Tax return 2023.pdf', trashed: true }, Buffer.from('%PDF-1.7 the only copy'));
    const sameApp = emu.store.create({ name: 'lomob staging leftover', trashed: true }, Buffer.from('old'), emu.oauth.client.clientId);
    const notes = emu.store.create({ name: 'notes.txt' }, Buffer.from('keep me'));
    const untouched = () => {
      for (const f of [taxes, sameApp, notes]) expect(emu.store.files.get(f.id), f.name).toBe(f);
      expect(taxes.trashed && sameApp.trashed && !notes.trashed).toBe(true);
    };

    useToken(DRIVE_FULL); // what lomob's sign-in grants
    expect((await stageArchiveClean()).removedArchived).toBe(2);
    untouched();
    expect(emu.apiRequests().some((r) => r.path === '/drive/v3/files/trash')).toBe(false);

    useToken(DRIVE_FILE); // what util gcloud-auth asks for now
    fs.writeFileSync(path.join(dir, 'lib', 'p', 'three.jpg'), random.bytes(200_000));
    expect((await stageArchiveClean()).removedArchived).toBe(1);
    untouched();
    // Only our folders are left on Drive besides the user's files: no staged copy survives.
    const ours = [...emu.store.files.values()].filter((f) => f.appId === emu.oauth.client.clientId && f.id !== sameApp.id);
    expect(ours.filter((f) => f.mimeType !== 'application/vnd.google-apps.folder')).toEqual([]);
  }, 240_000);
});
