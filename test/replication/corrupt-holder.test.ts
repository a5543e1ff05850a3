/**
 * A flipped byte in a chunk a holder keeps (issue 15, point 2 and 3), three households on
 * loopback: the holder's scrub (or, before the scrub comes to it, the `get` that would serve it)
 * finds it, quarantines it (never served), warns and reports it in `status --json`
 * (`hosted.quarantined`); the owner's audit finds the chunk gone and puts it back from its own
 * good copy, so the holder keeps a chunk matching its hash again and the placement still counts.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { onlinePeers, startFamily, type Family, type NodeProc } from '../support/nodes.js';
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

/** Flips one bit of a file at a random offset. */
function flipByte(file: string): void {
  const bytes = fs.readFileSync(file);
  const at = random.int(bytes.length);
  const fd = fs.openSync(file, 'r+');
  fs.writeSync(fd, Buffer.from([bytes[at]! ^ 0x10]), 0, 1, at);
  fs.closeSync(fd);
}

/** The file of n's own object tier whose bytes hash to `chunk`. */
function ownChunkFile(n: NodeProc, chunk: string): string {
  const dir = path.join(n.dir, 'objects');
  const f = fs.readdirSync(dir, { recursive: true, withFileTypes: true }).find((e) => e.isFile() && sha(fs.readFileSync(path.join(e.parentPath, e.name))) === chunk);
  if (!f) throw new Error(`${n.name} has no chunk ${chunk} in its object tier`);
  return path.join(f.parentPath, f.name);
}

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
    expect(sha(fs.readFileSync(file))).toBe(victim);
    flipByte(file);

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

  it('found when served: the holder refuses it as corrupt, a restore takes no bad byte, and the owner puts it back from another holder', async () => {
    const [a, b, c0] = family.nodes as [NodeProc, NodeProc, NodeProc];
    // C without the every-round scrub (default: a chunk is re-hashed once a week): only a get finds the damage.
    const addr = c0.addrs.find((x) => x.startsWith('/ip4/127.0.0.1/tcp/'))!;
    await c0.stop();
    const c = await family.add('C', ['--listen', addr]);
    const victim = chunkHashes(a, a.peerId, 'volume')[0]!;
    const file = path.join(c.dir, 'hosted', a.peerId, victim.slice(0, 2), victim);
    flipByte(file);
    // The only good copies left are elsewhere: B is stopped, A's own one is moved aside.
    const bAddr = b.addrs.find((x) => x.startsWith('/ip4/127.0.0.1/tcp/'))!;
    await b.stop();
    const own = ownChunkFile(a, victim);
    fs.renameSync(own, `${own}.aside`);
    await waitFor(async () => JSON.stringify(await onlinePeers(a)) === JSON.stringify([c.peerId]), 30_000, 'A online with C alone');

    const lib = path.join(a.dir, 'library');
    const out = path.join(family.root, 'restored');
    const r = await run(a, ['restore', 'file', path.join(lib, 'f0.jpg'), '--to', out]);
    expect(r.code, r.stdout).not.toBe(0);
    expect(r.stderr).toMatch(/corrupt/);
    expect(fs.existsSync(path.join(out + lib, 'f0.jpg')), 'no file restored from a bad copy').toBe(false);
    // C did not serve it, set it aside and says so.
    expect(c.stderr).toMatch(new RegExp(`hosted chunk ${victim} of ${a.peerId} now hashes to [0-9a-f]+: not served`));
    expect(fs.existsSync(file)).toBe(false);
    expect((await c.json<any>(['status'])).hosted.quarantined).toBe(1);

    // B is back, A's own copy still is not: A's audit finds the chunk gone at C and puts B's good copy there.
    const b2 = await family.add('B', ['--listen', bAddr]);
    await waitFor(() => fs.existsSync(file) && sha(fs.readFileSync(file)) === victim, 30_000, 'A to put the chunk back at C', 100);
    // (C names the file before its acknowledgement reaches A, which logs the send then.)
    const resent = new RegExp(`chunk \\d+ of [0-9a-f]+ sent to ${c.peerId} from the copy at ${b2.peerId}`);
    await waitFor(() => resent.test(a.stderr), 10_000, 'A to log the chunk it sent from B\'s copy', 50);
    expect(hostedChunks(b2, a.peerId)).toEqual(chunkHashes(a, a.peerId));
    fs.renameSync(`${own}.aside`, own);
    const again = await run(a, ['--json', 'sync', '--wait', '--timeout', '60s']);
    expect(again.code, again.stderr).toBe(0);
    expect(JSON.parse(again.stdout).placement).toMatchObject({ met: 2, objects: 2, reason: null });
    expect(hostedChunks(c, a.peerId)).toEqual(chunkHashes(a, a.peerId));
  });
});
