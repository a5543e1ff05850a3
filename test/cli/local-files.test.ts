import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, outputMatch, startCli, tempDir, type CliOptions, type RunningCli } from '../support/cli.js';

/**
 * Issue 13, point 5: a site's data folder is 0700 and every file in it 0600, whatever umask the
 * caller has (here the usual 022, set by a shell wrapper around each command), and modes found
 * looser at start are reported once, with the fix.
 */
const UMASK_022: CliOptions = { wrap: ['sh', '-c', 'umask 022; exec "$@"', 'sh'], env: { LOMOB_MASTER_KEY: 'correct horse battery staple' } };
const LOOPBACK = ['--no-mdns', '--no-upnp', '--listen', '/ip4/127.0.0.1/tcp/0'];

/** Every path under `dir` (itself included) whose mode is not 0700 (folder) / 0600 (file) / private (socket). */
function notPrivate(dir: string): string[] {
  const bad: string[] = [];
  const walk = (p: string) => {
    const st = fs.lstatSync(p);
    const mode = st.mode & 0o777;
    if (st.isDirectory()) {
      if (mode !== 0o700) bad.push(`${p} ${mode.toString(8)}`);
      for (const e of fs.readdirSync(p)) walk(path.join(p, e));
    } else if (st.isFile() ? mode !== 0o600 : (mode & 0o077) !== 0) bad.push(`${p} ${mode.toString(8)}`);
  };
  walk(dir);
  return bad;
}

describe('local files are private', () => {
  let root: string;
  let cleanup: () => void;
  let site: string;
  let db: string;
  const running: RunningCli[] = [];

  beforeAll(() => {
    ({ dir: root, cleanup } = tempDir('lomo-modes-'));
    site = path.join(root, 'site');
    db = path.join(site, 'lomob.db');
    fs.mkdirSync(path.join(root, 'pics'));
    fs.writeFileSync(path.join(root, 'pics', 'a.jpg'), 'not really a photo');
  });
  afterAll(async () => {
    for (const r of running) if (r.child.exitCode === null) r.child.kill('SIGKILL');
    await Promise.all(running.map((r) => r.done));
    cleanup();
  });

  async function startNode(): Promise<RunningCli> {
    const node = startCli(['--db', db, '--json', 'node', ...LOOPBACK], { ...UMASK_022, timeoutMs: 60_000 });
    running.push(node);
    await outputMatch(node, /"peerId"/);
    return node;
  }

  async function stopNode(node: RunningCli): Promise<void> {
    node.child.kill('SIGTERM');
    const r = await node.done;
    expect(r.code, `signal ${r.signal}\n${node.output()}`).toBe(0);
  }

  it('after init, scan, and an invite made by the running node: folders 0700, files 0600 (caller umask 022)', async () => {
    const init = await cli(['--db', db, 'init'], UMASK_022);
    expect(init.code, init.stderr).toBe(0);
    const scan = await cli(['--db', db, 'scan', path.join(root, 'pics')], UMASK_022);
    expect(scan.code, scan.stderr).toBe(0);
    expect(notPrivate(site)).toEqual([]);

    const node = await startNode();
    const invite = await cli(['--db', db, 'invite'], UMASK_022);
    expect(invite.code, invite.stderr).toBe(0);
    // While the node runs: the catalog's -wal and -shm exist, and hold the open invite's secret.
    expect(fs.existsSync(`${db}-wal`)).toBe(true);
    expect(notPrivate(site)).toEqual([]);
    await stopNode(node);
    expect(node.output()).not.toMatch(/other local users/);
    expect(notPrivate(site)).toEqual([]);
    for (const c of [init, scan, invite]) expect(c.stderr).not.toMatch(/other local users/);
  });

  it("restore keeps the caller's umask: restored photos get the modes any copied file gets", async () => {
    const iso = await cli(['--db', db, 'iso', 'create', '--partial'], UMASK_022);
    expect(iso.code, iso.stderr).toBe(0);
    const out = path.join(root, 'restored');
    const photo = path.join(root, 'pics', 'a.jpg');
    const r = await cli(['--db', db, 'restore', 'file', photo, '--to', out], UMASK_022);
    expect(r.code, r.stderr).toBe(0);
    expect(fs.statSync(path.join(out, photo)).mode & 0o777).toBe(0o644);
    expect(fs.statSync(out).mode & 0o777).toBe(0o755);
    expect(notPrivate(site)).toEqual([]);
  });

  it('looser modes found at start are reported once, naming the fix; by CLI commands and by the node', async () => {
    fs.chmodSync(site, 0o755);
    fs.chmodSync(db, 0o644);
    fs.chmodSync(path.join(site, 'recovery-kit.txt'), 0o640);
    const list = await cli(['--db', db, 'list', 'files'], UMASK_022);
    expect(list.code, list.stderr).toBe(0);
    expect(list.stderr.match(/other local users/g)).toHaveLength(1);
    expect(list.stderr).not.toContain(`${site} (0755)`); // an existing folder is not reported: its files are what is private
    expect(list.stderr).toContain(`${db} (0644)`);
    expect(list.stderr).toContain(`Fix: chmod 600 ${db} ${path.join(site, 'recovery-kit.txt')}`);
    // A loose catalog is reported, not changed behind the owner's back; SQLite gives its -wal the same mode.
    expect(fs.statSync(db).mode & 0o777).toBe(0o644);

    const node = await startNode();
    await outputMatch(node, new RegExp(`other local users can read or change this site's files: .*${db.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} \\(0644\\)`));
    await stopNode(node);

    fs.chmodSync(site, 0o700);
    fs.chmodSync(db, 0o600);
    fs.chmodSync(path.join(site, 'recovery-kit.txt'), 0o600);
    const fixed = await cli(['--db', db, 'list', 'files'], UMASK_022);
    expect(fixed.code, fixed.stderr).toBe(0);
    expect(fixed.stderr).not.toMatch(/other local users/);
    expect(notPrivate(site)).toEqual([]);
  });
});
