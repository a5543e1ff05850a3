/**
 * Re-planning (issue 15, point 3), five households on loopback: a household without quota for A
 * is passed over; a holder that A revokes loses its placements (logged gone) and they move to the
 * remaining members; when nobody with quota is left, sync --wait exits 4 naming why.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { onlinePeers, startFamily, type Family, type NodeProc } from '../support/nodes.js';
import { seeded } from '../support/random.js';
import { waitFor } from '../support/wait.js';
import { hostedChunks, ok, packVolume, peerCopies, run } from './sites.js';

const random = seeded('replication/replan.test.ts');
let family: Family;
beforeAll(async () => {
  family = await startFamily(['A', 'B', 'C', 'D', 'E']);
  const [a, ...rest] = family.nodes as [NodeProc, ...NodeProc[]];
  for (const n of rest) {
    // E offers A one byte: it can keep nothing of A's.
    const r = await n.run(['join', ...(n.name === 'E' ? ['--quota', '1B'] : []), await a.invite()]);
    if (r.code !== 0) throw new Error(`${n.name} could not join (${r.code}): ${r.stderr}`);
  }
  const want = rest.map((n) => n.peerId).sort();
  await waitFor(async () => JSON.stringify(await onlinePeers(a)) === JSON.stringify(want), 30_000, 'A online with the whole family');
}, 90_000);
afterAll(async () => family?.stop());

describe('re-planning placements', () => {
  it('passes over a household without quota, moves a revoked holder\'s copies to the others, and says when no one is left', async () => {
    const [a, b, c, d, e] = family.nodes as [NodeProc, NodeProc, NodeProc, NodeProc, NodeProc];
    await packVolume(a, random, [250_000, 40_000]);
    await ok(a, 'sync', '--wait', '--timeout', '60s');
    const first = peerCopies(a, a.peerId);
    expect(first).toHaveLength(2);
    const bcd = [b, c, d].map((n) => n.peerId);
    for (const o of first) {
      expect(o.holders).toHaveLength(2);
      for (const h of o.holders) expect(bcd).toContain(h);
    }
    expect(hostedChunks(e, a.peerId)).toEqual([]);

    // A revokes a holder of its volume: those copies no longer count and go to the remaining member.
    const victim = first.find((o) => o.kind === 'volume')!.holders[0]!;
    await ok(a, 'peers', 'remove', victim);
    const r = await run(a, ['--json', 'sync', '--wait', '--timeout', '60s']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).placement).toMatchObject({ met: 2, objects: 2, reason: null });
    const rest = bcd.filter((id) => id !== victim).sort();
    for (const o of peerCopies(a, a.peerId)) expect(o.holders, o.kind).toEqual(rest);
    expect(hostedChunks(e, a.peerId)).toEqual([]);
    // The retirement is logged: a member that syncs A's log no longer lists the revoked holder.
    await waitFor(() => peerCopies(rest.includes(b.peerId) ? b : c, a.peerId).every((o) => !o.holders.includes(victim)), 30_000, 'the re-plan to reach a member');

    // One more revoked: only E is left, and E has no quota for A.
    await ok(a, 'peers', 'remove', rest[0]!);
    const short = await run(a, ['sync', '--wait', '--timeout', '60s']);
    expect(short.code, short.stderr).toBe(4);
    expect(short.stderr).toMatch(new RegExp(`placement goal not met: 0 of 2 object\\(s\\) .*no quota left: ${e.peerId}`));
    for (const o of peerCopies(a, a.peerId)) expect(o.holders).toEqual([rest[1]]);
  });
});
