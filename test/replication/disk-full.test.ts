/**
 * A holder whose disk is full (issue 15, points 1 and 3), four households on loopback: B's data
 * folder (catalog, peer store) is a 6 MiB tmpfs: it takes the small chunk of A's volume but refuses
 * the 8 MiB one as `disk-full`, and A has it drop the one it took (no partial volume stays); A places
 * the volume at C and D instead, `sync --wait` exits 0 with the goal met, A's report and status
 * name B's refusal and its reason, B keeps nothing partial, and A's own copy is intact.
 * Needs root (mount), as test/network/chunk-disk-full.test.ts.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { onlinePeers, startFamily, type Family, type NodeProc } from '../support/nodes.js';
import { seeded } from '../support/random.js';
import { waitFor } from '../support/wait.js';
import { chunkHashes, hostedChunks, packVolume, peerCopies, run } from './sites.js';

const random = seeded('replication/disk-full.test.ts');
let family: Family;
let mounted: string | null = null;
let a: NodeProc;
let b: NodeProc;
let others: NodeProc[];

beforeAll(async () => {
  if (process.getuid?.() !== 0) throw new Error('this test mounts a tmpfs: run it as root (the CI does)');
  family = await startFamily(['A', 'X', 'Y', 'Z']);
  await family.pair();
  // The planner tries households with equal bytes by id: the first one is the holder whose disk
  // fills up, so the volume is surely offered to it first.
  const [first, ...rest] = family.nodes as [NodeProc, ...NodeProc[]];
  a = first;
  const byId = [...rest].sort((x, y) => (x.peerId < y.peerId ? -1 : 1));
  const full = byId[0]!;
  others = byId.slice(1);
  const addr = full.addrs.find((x) => x.startsWith('/ip4/127.0.0.1/tcp/'))!;
  await full.stop();
  // Its whole data folder (a catalog of about 400 KB) moves onto a 6 MiB file system.
  const saved = `${full.dir}.saved`;
  fs.renameSync(full.dir, saved);
  fs.mkdirSync(full.dir);
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=6m', 'tmpfs', full.dir]);
  mounted = full.dir;
  fs.cpSync(saved, full.dir, { recursive: true, filter: (f) => { const s = fs.lstatSync(f); return s.isFile() || s.isDirectory(); } });
  fs.rmSync(saved, { recursive: true, force: true });
  b = await family.add(full.name, ['--listen', addr]);
  const want = rest.map((n) => n.peerId).sort();
  await waitFor(async () => JSON.stringify(await onlinePeers(a)) === JSON.stringify(want), 30_000, 'A online with the whole family');
}, 90_000);

afterAll(async () => {
  await family?.stop().catch(() => undefined);
  if (mounted) execFileSync('umount', [mounted]);
  if (family) fs.rmSync(family.root, { recursive: true, force: true });
});

const sha = (f: string) => createHash('sha256').update(fs.readFileSync(f)).digest('hex');

describe('a holder with a full disk', () => {
  it('refuses as disk-full, the volume goes to the other households, nothing partial stays, nothing is lost', async () => {
    // A volume of two chunks: 8 MiB, more than B's whole disk, and about 600 KB, which fits.
    await packVolume(a, random, [9_000_000]);
    expect(chunkHashes(a, a.peerId, 'volume')).toHaveLength(2);
    const r = await run(a, ['--json', 'sync', '--wait', '--timeout', '60s']);
    expect(r.code, `${r.stderr}\n${a.stderr.split('\n').filter((l) => /replication/.test(l)).join('\n')}`).toBe(0);
    const report = JSON.parse(r.stdout).placement;
    expect(report).toMatchObject({ replicas: 2, members: 3, met: 2, objects: 2, reason: null });
    // The report names who refused and why.
    expect(report.refused).toEqual([expect.objectContaining({ household: b.peerId, reason: 'disk-full' })]);
    expect(a.stderr).toMatch(new RegExp(`${b.peerId} refused chunk \\d of [0-9a-f]+: disk-full`));

    const volume = peerCopies(a, a.peerId).find((o) => o.kind === 'volume')!;
    expect(volume.holders).toEqual(others.map((n) => n.peerId).sort());
    for (const o of peerCopies(a, a.peerId)) expect(o.holders, o.kind).toHaveLength(2);
    for (const n of others) for (const s of chunkHashes(a, a.peerId, 'volume')) expect(hostedChunks(n, a.peerId)).toContain(s);

    // Nothing partial at B: no temporary file, no volume chunk, every file it keeps is whole.
    const hosted = path.join(b.dir, 'hosted');
    expect(fs.readdirSync(path.join(hosted, '.tmp'))).toEqual([]);
    const volumeChunks = chunkHashes(a, a.peerId, 'volume');
    for (const s of hostedChunks(b, a.peerId)) expect(volumeChunks).not.toContain(s);
    const dir = path.join(hosted, a.peerId);
    const files = fs.existsSync(dir) ? fs.readdirSync(dir, { recursive: true, withFileTypes: true }).filter((f) => f.isFile()) : [];
    for (const f of files) expect(sha(path.join(f.parentPath, f.name))).toBe(f.name);
    expect(files.map((f) => f.name).sort()).toEqual(hostedChunks(b, a.peerId));

    // The small chunk it had taken before the big one was refused was dropped again.
    expect(a.stderr).toMatch(new RegExp(`${b.peerId} refused part of [0-9a-f]+: the 1 chunk\\(s\\) it took are dropped there`));
    // B's node lived through its full disk and still answers.
    expect(b.child.exitCode).toBeNull();
    expect(b.stderr).toMatch(new RegExp(`refused chunk [0-9a-f]{64} of ${a.peerId} \\(\\d+ bytes\\): no room to store the chunk`));
    expect((await b.json<any>(['status'])).hosted).toMatchObject({ usedBytes: 0, chunkCount: 0, quarantined: 0 });

    // A's status says it too, in JSON and in words.
    const st = await a.json<any>(['status']);
    expect(st.placement.refused).toEqual([expect.objectContaining({ household: b.peerId, reason: 'disk-full' })]);
    expect((await run(a, ['status'])).stdout).toContain(`placement: refused lately by ${b.peerId} (disk-full), tried again later`);

    // Nothing lost at A: every chunk of its objects is still in its object tier, whole.
    const objects = path.join(a.dir, 'objects');
    const own = fs.readdirSync(objects, { recursive: true, withFileTypes: true }).filter((f) => f.isFile()).map((f) => sha(path.join(f.parentPath, f.name)));
    for (const s of chunkHashes(a, a.peerId)) expect(own).toContain(s);
  });
});
