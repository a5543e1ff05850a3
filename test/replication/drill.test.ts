/**
 * Disaster drill without clouds (issue 15, tests): A scans and packs, `sync --wait` places its
 * volume at B and C, A's data folder (its catalog, identity and objects) is deleted; `recover` on
 * a new folder with B's invite and the passphrase, then every file restores bit-exact from the
 * family alone — no object folder, no cloud configured.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli } from '../support/cli.js';
import { onlinePeers, startFamily, type Family, type NodeProc } from '../support/nodes.js';
import { waitFor } from '../support/wait.js';
import { seeded } from '../support/random.js';
import { env, hostedChunks, ok, packVolume, peerCopies } from './sites.js';

const random = seeded('replication/drill.test.ts');
let family: Family;
beforeAll(async () => {
  family = await startFamily(['A', 'B', 'C']);
  await family.pair();
}, 90_000);
afterAll(async () => family?.stop());

describe('disaster drill without clouds', () => {
  it('a household that lost everything gets every file back from the family alone', async () => {
    const [a, b, c] = family.nodes as [NodeProc, NodeProc, NodeProc];
    const sizes = [900_000, 30_000, 2_500_000];
    await packVolume(a, random, sizes);
    const lib = path.join(a.dir, 'library');
    const files = new Map(fs.readdirSync(lib).map((n) => [n, fs.readFileSync(path.join(lib, n))]));
    await ok(a, 'sync', '--wait', '--timeout', '60s');
    for (const o of peerCopies(a, a.peerId)) expect(o.holders).toEqual([b.peerId, c.peerId].sort());
    // B and C have A's log with its placements (sync --wait waited for them to hold its head).
    const household = a.peerId;

    await a.stop();
    fs.rmSync(a.dir, { recursive: true, force: true }); // catalog, identity, objects, library

    const site2 = path.join(family.root, 'a2');
    const db2 = path.join(site2, 'lomob.db');
    const run2 = (args: string[], input?: string) => cli(['--db', db2, ...args], { env, cwd: family.root, timeoutMs: 120_000, input });
    const rec = await run2(['--json', 'recover', '-'], await b.invite());
    expect(rec.code, rec.stderr).toBe(0);
    expect(JSON.parse(rec.stdout)).toMatchObject({ site: household, volumes: 1 });

    const out = path.join(family.root, 'restored');
    const r = await run2(['--json', 'restore', 'file', lib, '--to', out]);
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report.bytesFetched.local).toBe(0);
    expect(report.bytesFetched.peers).toBeGreaterThan(0);
    for (const [name, data] of files) {
      const got = path.join(out + lib, name);
      expect(fs.readFileSync(got).equals(data), name).toBe(true);
    }

    // The new machine runs the household's node: its copies at B and C still count, nothing is re-sent.
    const a2 = await family.add('A2', ['--audit-interval', '1s']);
    await waitFor(async () => JSON.stringify(await onlinePeers(a2)) === JSON.stringify([b.peerId, c.peerId].sort()), 30_000, 'the new machine online with B and C');
    const s = await cli(['--db', db2, '--json', 'sync', '--wait', '--timeout', '60s'], { env, cwd: family.root, timeoutMs: 120_000 });
    // The lost machine is no member of the family any more, here neither: nobody is waited for.
    expect(s.code, `${s.stdout}\n${s.stderr}`).toBe(0);
    expect(JSON.parse(s.stdout).placement, s.stderr).toMatchObject({ objects: 2, met: 2, reason: null });
    const own = JSON.parse((await cli(['--db', db2, '--json', 'peers', '--all'], { env, cwd: family.root })).stdout) as { peerId: string; state: string }[];
    expect(own.find((p) => p.peerId === household)?.state ?? 'absent', JSON.stringify(own)).not.toBe('trusted');
    // Its audit asks B and C as the household (their owner check follows the succession).
    for (const h of [b, c]) {
      await waitFor(() => new RegExp(`audit of [0-9a-f]+ at ${h.peerId}: all \\d+ chunk\\(s\\) present`).test(a2.stderr), 30_000, `an audit at ${h.name}`);
    }
    expect(a2.stderr).not.toMatch(/forbidden/);
    expect(JSON.parse((await cli(['--db', db2, '--json', 'status'], { env, cwd: family.root })).stdout).placement.sent).toMatchObject({ chunks: 0, bytes: 0 });

    // The new machine has no object store of its own: a chunk B loses comes back from C's copy.
    const lost = hostedChunks(b, household)[0]!;
    const file = path.join(b.dir, 'hosted', household, lost.slice(0, 2), lost);
    fs.rmSync(file);
    await waitFor(() => fs.existsSync(file), 30_000, 'the new machine to put the lost chunk back at B', 100);
    // (B names the file before its acknowledgement reaches the new machine, which logs the send then.)
    const resent = new RegExp(`chunk \\d+ of [0-9a-f]+ sent to ${b.peerId} from the copy at ${c.peerId}`);
    await waitFor(() => resent.test(a2.stderr), 10_000, 'the new machine to log the chunk it sent from C\'s copy', 50);
    expect(hostedChunks(b, household)).toEqual(hostedChunks(c, household));
  });
});
