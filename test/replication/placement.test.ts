/**
 * Placement between three households on loopback (issue 15, points 3 and 5): each packs a small
 * volume; after `sync --wait` every object of every site is held by the two others (R = 2),
 * acknowledged chunk by chunk, recorded and logged, so every site knows every placement. A chunk
 * a holder lost is put again by the audit; a staged file goes to one household and is dropped
 * there once the file is in a volume that is itself placed.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFamily, type Family, type NodeProc } from '../support/nodes.js';
import { seeded } from '../support/random.js';
import { waitFor } from '../support/wait.js';
import { chunkHashes, hostedChunks, ok, packVolume, peerCopies, run } from './sites.js';

const random = seeded('replication/placement.test.ts');
let family: Family;
beforeAll(async () => {
  // Placements are audited every 2 s here (default 6 h): a lost chunk is noticed within the test.
  family = await startFamily(['A', 'B', 'C'], ['--audit-interval', '2s']);
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

  it('the audit puts back a chunk a holder lost', async () => {
    const [a, b] = family.nodes as [NodeProc, NodeProc, NodeProc];
    const sha = hostedChunks(b, a.peerId)[0]!;
    const file = path.join(b.dir, 'hosted', a.peerId, sha.slice(0, 2), sha);
    expect(fs.existsSync(file)).toBe(true);
    fs.rmSync(file);
    await waitFor(() => fs.existsSync(file), 30_000, 'A to put the lost chunk back at B', 100);
    await waitFor(() => /had lost 1 chunk\(s\)/.test(a.stderr), 10_000, 'A to report the loss');
  });

  it('a staged file is kept by one household, and dropped there once its file is in a placed volume', async () => {
    const [, b] = family.nodes as [NodeProc, NodeProc, NodeProc];
    fs.writeFileSync(path.join(b.dir, 'library', 'new.jpg'), random.bytes(70_000));
    await ok(b, 'scan', path.join(b.dir, 'library'));
    await ok(b, 'upload', 'files', '--target', `file://${path.join(b.dir, 'staging')}`);
    await ok(b, 'sync', '--wait', '--timeout', '60s');
    const staged = peerCopies(b, b.peerId).filter((o) => o.kind === 'file');
    expect(staged).toHaveLength(1);
    expect(staged[0]!.holders).toHaveLength(1);
    const holder = family.nodes.find((n) => n.peerId === staged[0]!.holders[0])!;
    const stagedChunks = chunkHashes(b, b.peerId, 'file');
    expect(stagedChunks.length).toBeGreaterThan(0);
    for (const c of stagedChunks) expect(hostedChunks(holder, b.peerId)).toContain(c);

    // The file goes into a second volume; once that volume is held by the family, the staged copy goes.
    await ok(b, 'iso', 'create', '--partial', '-p', path.join(b.dir, 'isos'));
    await ok(b, 'sync', '--wait', '--timeout', '60s');
    await waitFor(() => peerCopies(b, b.peerId).find((o) => o.kind === 'file')!.holders.length === 0, 30_000, 'B to drop its staged copy');
    const now = hostedChunks(holder, b.peerId);
    for (const c of stagedChunks) expect(now).not.toContain(c);
    expect(JSON.parse((await run(b, ['--json', 'status'])).stdout).placement.sent.dropped).toBe(1);
    // Every volume and manifest still has its two holders.
    for (const o of peerCopies(b, b.peerId).filter((x) => x.kind !== 'file')) expect(o.holders).toHaveLength(2);
  });
});
