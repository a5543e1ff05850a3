/**
 * A flipped byte in a chunk a holder keeps (issue 15, point 2 and 3), three households on
 * loopback: the holder's scrub finds it, quarantines it (never served again), warns and reports
 * it in `status --json` (`hosted.quarantined`); the owner's audit finds the chunk gone and puts
 * it back from its own good copy, so the holder keeps a chunk matching its hash again and the
 * placement still counts.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFamily, type Family, type NodeProc } from '../support/nodes.js';
import { seeded } from '../support/random.js';
import { waitFor } from '../support/wait.js';
import { chunkHashes, hostedChunks, packVolume, peerCopies, run } from './sites.js';

const random = seeded('replication/corrupt-holder.test.ts');
let family: Family;
beforeAll(async () => {
  // Holders re-hash every chunk each maintenance round (1 s), owners audit each placement every 2 s.
  family = await startFamily(['A', 'B', 'C'], ['--scrub-days', '0', '--audit-interval', '2s']);
  await family.pair();
}, 90_000);
afterAll(async () => family?.stop());

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('a corrupt chunk at a holder', () => {
  it('is quarantined and reported by the holder, and re-replicated by the owner from a good copy', async () => {
    const [a, b, c] = family.nodes as [NodeProc, NodeProc, NodeProc];
    await packVolume(a, random, [300_000, 60_000]);
    const placed = await run(a, ['--json', 'sync', '--wait', '--timeout', '60s']);
    expect(placed.code, placed.stderr).toBe(0);
    const holders = [b.peerId, c.peerId].sort();
    for (const o of peerCopies(a, a.peerId)) expect(o.holders, o.kind).toEqual(holders);
    const all = chunkHashes(a, a.peerId);
    expect(hostedChunks(b, a.peerId)).toEqual(all);

    // One bit of the volume's first chunk at B flips on disk.
    const victim = chunkHashes(a, a.peerId, 'volume')[0]!;
    const file = path.join(b.dir, 'hosted', a.peerId, victim.slice(0, 2), victim);
    const good = fs.readFileSync(file);
    expect(sha(good)).toBe(victim);
    const at = random.int(good.length);
    const fd = fs.openSync(file, 'r+');
    fs.writeSync(fd, Buffer.from([good[at]! ^ 0x10]), 0, 1, at);
    fs.closeSync(fd);

    // B finds it, moves it out of the way (it is never served) and says so.
    await waitFor(async () => (await b.json<any>(['status'])).hosted.scrub.corruptFound >= 1, 30_000, 'B\'s scrub to find the bad chunk', 100);
    expect(b.stderr).toContain(`hosted chunk ${victim} of ${a.peerId} no longer matches its hash: quarantined, not served`);
    const st = await b.json<any>(['status']);
    expect(st.hosted.quarantined).toBe(1);
    const quarantined = path.join(b.dir, 'hosted', '.quarantine', a.peerId);
    const moved = fs.readdirSync(quarantined);
    expect(moved).toHaveLength(1);
    expect(moved[0]!.startsWith(`${victim}.`)).toBe(true);
    expect(sha(fs.readFileSync(path.join(quarantined, moved[0]!)))).not.toBe(victim);
    expect((await run(b, ['status'])).stdout).toMatch(/warning: 1 chunk\(s\) kept for other households no longer matched their hash: quarantined/);

    // A's audit finds the chunk gone at B and puts it back from its own copy.
    await waitFor(() => fs.existsSync(file) && sha(fs.readFileSync(file)) === victim, 30_000, 'A to put the chunk back at B', 100);
    await waitFor(() => /had lost 1 chunk\(s\)/.test(a.stderr), 10_000, 'A to report the loss');
    expect(hostedChunks(b, a.peerId)).toEqual(all);
    for (const s of all) expect(sha(fs.readFileSync(path.join(b.dir, 'hosted', a.peerId, s.slice(0, 2), s))), s).toBe(s);
    // The placement still counts: the goal is met without a new holder.
    const r = await run(a, ['--json', 'sync', '--wait', '--timeout', '60s']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).placement).toMatchObject({ met: 2, objects: 2, reason: null });
    for (const o of peerCopies(a, a.peerId)) expect(o.holders, o.kind).toEqual(holders);
  });
});
