/**
 * A holder killed with SIGKILL while it receives a volume of several chunks (issue 15, point 2;
 * resume.test.ts kills the sender): after the holder restarts on the same data folder, the
 * sender's next round completes, no chunk the holder had acknowledged is sent again (bytes
 * streamed after the restart = the chunks it lacked), the holder keeps no partial chunk, and the
 * placement is recorded only once every chunk is acknowledged.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { onlinePeers, startFamily, type Family, type NodeProc } from '../support/nodes.js';
import { seeded } from '../support/random.js';
import { waitFor } from '../support/wait.js';
import { chunkHashes, chunkSizes, expectWholeChunks, hostedChunks, packVolume, peerCopies, run } from './sites.js';

const random = seeded('replication/resume-receiver.test.ts');
let family: Family;
beforeAll(async () => {
  // One holder per object (R = 1): every chunk A streams goes to B, so A's counters are B's.
  family = await startFamily(['A', 'B'], ['--replicas', '1']);
  await family.pair();
}, 90_000);
afterAll(async () => family?.stop());

type Sent = { chunks: number; alreadyHeld: number; bytes: number };
const sentBy = async (a: NodeProc): Promise<Sent> => (await a.json<any>(['status'])).placement.sent;

describe('replication resumes after the holder is killed', () => {
  it('kill -9 of the receiver mid-transfer: after its restart only the chunks it lacked are sent, nothing partial is kept, the placement comes last', async () => {
    const [a, b0] = family.nodes as [NodeProc, NodeProc];
    const addr = b0.addrs.find((x) => x.startsWith('/ip4/127.0.0.1/tcp/'))!;
    // About 60 MB of files: a volume of 8 chunks (8 MiB each), so the kill lands between chunks.
    await packVolume(a, random, Array.from({ length: 6 }, () => 10_000_000));
    const owner = a.peerId;
    const all = chunkHashes(a, owner);
    expect(all.length).toBeGreaterThanOrEqual(8);
    const volume = peerCopies(a, owner).find((o) => o.kind === 'volume')!;

    // Kill B as soon as it acknowledged a first chunk of A's volume (A logs each acknowledgement;
    // a row at B alone is not one: B records it just before the rename that makes it count).
    const volumeChunks = chunkHashes(a, owner, 'volume');
    const acked = new RegExp(`chunk \\d+ of ${volume.objectId.toLowerCase()} to ${b0.peerId}: stored`);
    await waitFor(() => acked.test(a.stderr), 60_000, 'B to acknowledge a first volume chunk', 20);
    await b0.stop('SIGKILL');
    // A's puts to the dead holder fail; once A has backed B off, its counters no longer move.
    await waitFor(() => a.stderr.includes(`placing elsewhere, ${b0.peerId} is tried again`), 30_000, 'A to give up on B for now', 50);
    const before = await sentBy(a);
    expect(peerCopies(a, owner).find((o) => o.kind === 'volume')!.holders, 'no placement before every chunk is acknowledged').toEqual([]);
    // Chunks of objects already placed (the manifest, if it came first) are not sent again at all.
    const placed = peerCopies(a, owner).filter((o) => o.holders.length > 0).flatMap((o) => chunkHashes(a, owner, o.kind));

    const b = await family.add('B', ['--listen', addr]);
    // The restart dropped whatever a put cut off had left (temporary files, rows without a file).
    const tmp = path.join(b.dir, 'hosted', '.tmp');
    expect(fs.existsSync(tmp) ? fs.readdirSync(tmp) : []).toEqual([]);
    expectWholeChunks(b, owner);
    const held = hostedChunks(b, owner);
    // Every chunk A counted as stored at B is still there after the kill.
    expect(held.length).toBeGreaterThanOrEqual(before.chunks);
    const volumeHeld = held.filter((s) => volumeChunks.includes(s)).length;
    expect(volumeHeld, 'the kill came before the end of the volume').toBeLessThan(volumeChunks.length);
    expect(volumeHeld).toBeGreaterThan(0);

    await waitFor(async () => JSON.stringify(await onlinePeers(a)) === JSON.stringify([b.peerId]), 30_000, 'A back online with B');
    const r = await run(a, ['--json', 'sync', '--wait', '--timeout', '60s']);
    expect(r.code, `${r.stderr}\n${a.stderr.split('\n').filter((l) => /replication|chunk/.test(l)).join('\n')}`).toBe(0);
    for (const o of peerCopies(a, owner)) expect(o.holders, o.kind).toEqual([b.peerId]);
    expect(hostedChunks(b, owner)).toEqual(all);
    expectWholeChunks(b, owner);

    // After the restart A streamed exactly the chunks B lacked; those it held were acknowledged before a byte moved.
    const sizes = chunkSizes(a, owner);
    const lacking = all.filter((s) => !held.includes(s));
    for (const s of placed) expect(held).toContain(s);
    const after = await sentBy(a);
    expect(after.bytes - before.bytes).toBe(lacking.reduce((n, s) => n + sizes.get(s)!, 0));
    expect(after.chunks - before.chunks).toBe(lacking.length);
    expect(after.alreadyHeld - before.alreadyHeld).toBe(held.filter((s) => !placed.includes(s)).length);

    // The volume's placement was recorded after the last of its chunks was acknowledged at B.
    const lines = a.stderr.split('\n');
    const placedAt = lines.findIndex((l) => l.includes(`object ${volume.objectId.toLowerCase()}`) && l.includes(`is held by ${b.peerId}`));
    expect(placedAt).toBeGreaterThan(0);
    const acks = lines.map((l, i) => (l.includes(`of ${volume.objectId.toLowerCase()} to ${b.peerId}: `) ? i : -1)).filter((i) => i >= 0);
    expect(acks.length).toBeGreaterThanOrEqual(volumeChunks.length);
    expect(Math.max(...acks)).toBeLessThan(placedAt);
  });
});
