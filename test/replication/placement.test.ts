/**
 * Placement between three households on loopback (issue 15, points 3 and 5): each packs a small
 * volume; after `sync --wait` every object of every site is held by the two others (R = 2),
 * acknowledged chunk by chunk, recorded and logged, so every site knows every placement.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFamily, type Family, type NodeProc } from '../support/nodes.js';
import { seeded } from '../support/random.js';
import { chunkHashes, hostedChunks, ok, packVolume, peerCopies, run } from './sites.js';

const random = seeded('replication/placement.test.ts');
let family: Family;
beforeAll(async () => {
  family = await startFamily(['A', 'B', 'C']);
}, 90_000);
afterAll(async () => family?.stop());

describe('placement of sealed volumes (three sites)', () => {
  it('a family of two is too small for R = 2: sync --wait exits 4 saying so, status too', async () => {
    const [a, b] = family.nodes as [NodeProc, NodeProc, NodeProc];
    await packVolume(a, random, [300_000, 50_000]);
    const code = await a.invite();
    expect((await b.run(['join', code])).code).toBe(0);
    const r = await run(a, ['sync', '--wait', '--timeout', '60s']);
    expect(r.code, r.stderr).toBe(4);
    expect(r.stderr).toMatch(/the family has 2 household\(s\), fewer than 3/);
    const st = await a.json<any>(['status']);
    expect(st.placement).toMatchObject({ replicas: 2, members: 1, familyTooSmall: true, objects: 2 });
    expect((await run(a, ['status'])).stdout).toMatch(/warning: the family has 2 household\(s\), fewer than 3/);
    // Still, what the family allows was placed: B holds both objects.
    expect(peerCopies(a, a.peerId).map((o) => o.holders)).toEqual([[b.peerId], [b.peerId]]);
  });

  it('after sync --wait every object of every site has two acknowledged copies on the other sites', async () => {
    const [a, b, c] = family.nodes as [NodeProc, NodeProc, NodeProc];
    expect((await c.run(['join', await a.invite()])).code).toBe(0);
    await packVolume(b, random, [200_000]);
    await packVolume(c, random, [100_000, 120_000, 5_000]);
    for (const n of family.nodes) {
      const r = await run(n, ['--json', 'sync', '--wait', '--timeout', '60s']);
      expect(r.code, `${n.name}: ${r.stderr}`).toBe(0);
      const report = JSON.parse(r.stdout);
      expect(report.placement).toMatchObject({ replicas: 2, members: 2, familyTooSmall: false, met: 2, objects: 2, reason: null });
    }
    for (const owner of family.nodes) {
      const others = family.nodes.filter((n) => n !== owner);
      const copies = peerCopies(owner, owner.peerId);
      expect(copies.map((o) => o.kind).sort()).toEqual(['manifest', 'volume']);
      for (const o of copies) expect(o.holders, `${owner.name}'s ${o.kind}`).toEqual(others.map((n) => n.peerId).sort());
      // Each holder keeps every chunk of the owner's objects, verified and durable.
      for (const h of others) expect(hostedChunks(h, owner.peerId)).toEqual(chunkHashes(owner, owner.peerId));
      // The placements are logged: once the logs are synced, every member sees them.
      for (const n of others) {
        await ok(owner, 'sync', '--wait', '--timeout', '60s');
        expect(peerCopies(n, owner.peerId).map((o) => o.holders)).toEqual(copies.map((o) => o.holders));
      }
    }
    const st = await a.json<any>(['status']);
    expect(st.placement).toMatchObject({ met: 2, objects: 2, familyTooSmall: false, reason: null });
    expect(st.placement.sent.chunks).toBeGreaterThanOrEqual(2);
  });
});
