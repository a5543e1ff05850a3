/**
 * A sender killed with SIGKILL in the middle of replicating a volume of several chunks (issue 15,
 * point 2): after a restart the transfer resumes, no chunk a holder had acknowledged is sent again
 * (bytes streamed = the chunks the holders lacked), and no holder ever keeps a partial chunk.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { onlinePeers, startFamily, type Family, type NodeProc } from '../support/nodes.js';
import { seeded } from '../support/random.js';
import { waitFor } from '../support/wait.js';
import { chunkHashes, chunkSizes, expectWholeChunks, hostedChunks, packVolume, peerCopies, run } from './sites.js';

const random = seeded('replication/resume.test.ts');
let family: Family;
beforeAll(async () => {
  family = await startFamily(['A', 'B', 'C']);
  await family.pair();
}, 90_000);
afterAll(async () => family?.stop());

const tmpEmpty = (n: NodeProc) => {
  const tmp = path.join(n.dir, 'hosted', '.tmp');
  return !fs.existsSync(tmp) || fs.readdirSync(tmp).length === 0;
};

describe('replication resumes after the sender is killed', () => {
  it('kill -9 of the sender mid-transfer: the restart sends only the chunks the holders lack, and no partial chunk is stored', async () => {
    const [a0, b, c] = family.nodes as [NodeProc, NodeProc, NodeProc];
    const addr = a0.addrs.find((x) => x.startsWith('/ip4/127.0.0.1/tcp/'))!;
    // About 60 MB of files: a volume of 8 chunks (8 MiB each), so the kill lands between chunks.
    await packVolume(a0, random, Array.from({ length: 6 }, () => 10_000_000));
    const owner = a0.peerId;
    const all = chunkHashes(a0, owner);
    expect(all.length).toBeGreaterThanOrEqual(8);
    // Kill as soon as a holder acknowledged a first chunk of A's.
    await waitFor(() => hostedChunks(b, owner).length + hostedChunks(c, owner).length > 0, 60_000, 'a first chunk at a holder', 20);
    await a0.stop('SIGKILL');
    // Puts the dead sender had under way end (refused, nothing kept) before the count is taken.
    await waitFor(() => tmpEmpty(b) && tmpEmpty(c), 30_000, 'the holders to finish or drop the puts in flight', 50);
    const held = { b: hostedChunks(b, owner), c: hostedChunks(c, owner) };
    const acked = held.b.length + held.c.length;
    expect(acked, 'the kill came before the end of the transfer').toBeLessThan(2 * all.length);
    expectWholeChunks(b, owner);
    expectWholeChunks(c, owner);

    const a = await family.add('A', ['--listen', addr]);
    await waitFor(async () => JSON.stringify(await onlinePeers(a)) === JSON.stringify([b.peerId, c.peerId].sort()), 30_000, 'A back online with B and C');
    const r = await run(a, ['--json', 'sync', '--wait', '--timeout', '60s']);
    expect(r.code, `${r.stderr}\n${a.stderr.split('\n').filter((l) => /replication|chunk/.test(l)).join('\n')}\nB: ${b.stderr.split('\n').filter((l) => /chunk|WARN|ERROR/.test(l)).join('\n')}`).toBe(0);
    for (const o of peerCopies(a, owner)) expect(o.holders).toEqual([b.peerId, c.peerId].sort());
    expect(hostedChunks(b, owner)).toEqual(all);
    expect(hostedChunks(c, owner)).toEqual(all);
    expectWholeChunks(b, owner);
    expectWholeChunks(c, owner);

    // What the restarted sender streamed: exactly the chunks each holder lacked.
    const sizes = chunkSizes(a, owner);
    const lacking = (have: string[]) => all.filter((s) => !have.includes(s)).reduce((n, s) => n + sizes.get(s)!, 0);
    const sent = (await a.json<any>(['status'])).placement.sent;
    expect(sent.bytes).toBe(lacking(held.b) + lacking(held.c));
    expect(sent.chunks).toBe(2 * all.length - acked);
    expect(sent.alreadyHeld).toBe(acked);
  });
});
