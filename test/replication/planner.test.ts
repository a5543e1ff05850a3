/**
 * The placement planner alone (storage/replication/planner.ts): which holders count, which new
 * households it chooses (trusted, connected first, free quota, spread) and why it falls short.
 */
import { describe, expect, it } from 'vitest';
import { counts, plan, summarize, type Candidate, type PlanObject } from '../../storage/replication/planner.js';
import { DEFAULT_HOLDER_STALE_MS, type ReplicationPolicy } from '../../storage/replication/policy.js';

const NOW = 1_000_000_000_000;
const DAY = 86_400_000;
const policy: ReplicationPolicy = { replicas: 2, holderStaleMs: DEFAULT_HOLDER_STALE_MS };

function cand(household: string, o: Partial<Candidate> = {}): Candidate {
  return { household, peerId: household, state: 'trusted', connected: true, lastSeenAt: NOW, quotaGranted: null, placedBytes: 0, ...o };
}
const vol = (row: number, size = 100, holders: string[] = []): PlanObject => ({ row, kind: 'volume', size, holders });

describe('placement planner', () => {
  it('places volumes and manifests on R households and staging files on one', () => {
    const p = plan({
      objects: [vol(1), { row: 2, kind: 'manifest', size: 10, holders: [] }, { row: 3, kind: 'file', size: 10, holders: [] }],
      candidates: [cand('B'), cand('C'), cand('D')],
      policy,
      now: NOW,
    });
    expect(p.objects.map((o) => [o.goal, o.add.length, o.short])).toEqual([[2, 2, 0], [2, 2, 0], [1, 1, 0]]);
  });

  it('counts only holders that are members, not revoked and seen within the limit', () => {
    const family = [cand('B', { state: 'revoked' }), cand('C', { connected: false, lastSeenAt: NOW - 15 * DAY }), cand('D', { connected: false, lastSeenAt: NOW - DAY }), cand('E')];
    expect(counts(family[0], policy, NOW)).toBe('revoked');
    expect(counts(family[1], policy, NOW)).toBe('stale');
    expect(counts(family[2], policy, NOW)).toBeNull();
    expect(counts(undefined, policy, NOW)).toBe('not-a-member');
    const p = plan({ objects: [vol(1, 100, ['B', 'C', 'D', 'X'])], candidates: family, policy, now: NOW });
    const o = p.objects[0]!;
    expect(o.counting).toEqual(['D']);
    expect(o.notCounting).toEqual([
      { household: 'B', why: 'revoked' },
      { household: 'C', why: 'stale' },
      { household: 'X', why: 'not-a-member' },
    ]);
    // The one household left that could take it: E (B revoked; C stale; D holds it already).
    expect(o.add).toEqual(['E']);
    expect(o.short).toBe(0);
    // A shorter limit makes D stale too.
    const strict = plan({ objects: [vol(1, 100, ['D'])], candidates: family, policy: { ...policy, holderStaleMs: DAY / 2 }, now: NOW });
    expect(strict.objects[0]!.counting).toEqual([]);
  });

  it('chooses connected households first, then the one with fewest of our bytes', () => {
    const p = plan({
      objects: [vol(1, 100)],
      candidates: [cand('B', { placedBytes: 10 }), cand('C', { connected: false, lastSeenAt: NOW - 1000 }), cand('D', { placedBytes: 500 }), cand('E', { placedBytes: 5 })],
      policy,
      now: NOW,
    });
    expect(p.objects[0]!.add).toEqual(['E', 'B']);
    // Spread: successive objects go round the family as bytes accumulate.
    const spread = plan({ objects: [vol(1, 100), vol(2, 100), vol(3, 100)], candidates: [cand('B'), cand('C'), cand('D')], policy, now: NOW });
    const per = new Map<string, number>();
    for (const o of spread.objects) for (const h of o.add) per.set(h, (per.get(h) ?? 0) + 1);
    expect([...per.values()].sort()).toEqual([2, 2, 2]);
  });

  it('respects each household\'s quota, counting what the plan itself promises', () => {
    const p = plan({
      objects: [vol(1, 60), vol(2, 60)],
      candidates: [cand('B', { quotaGranted: 100 }), cand('C', { quotaGranted: 100, placedBytes: 50 }), cand('D', { quotaGranted: null })],
      policy,
      now: NOW,
    });
    // Object 1: B and D (C has 50 of 100 used: 60 more does not fit). Object 2: B is full now.
    expect(p.objects[0]!.add.sort()).toEqual(['B', 'D']);
    expect(p.objects[1]!.add).toEqual(['D']);
    expect(p.objects[1]!.short).toBe(1);
    expect(p.skipped.get('C')).toBe('quota');
    const s = summarize(p, policy);
    expect(s).toMatchObject({ objects: 2, met: 0, placing: 2, familyTooSmall: false });
    expect(s.reason).toMatch(/no quota left: .*B/);
  });

  it('leaves out pending, revoked and avoided households, and says why the goal cannot be met', () => {
    const p = plan({
      objects: [vol(1)],
      candidates: [cand('B', { state: 'pending' }), cand('C'), cand('D')],
      policy,
      now: NOW,
      avoid: new Map([['D', 'refused' as const]]),
    });
    expect(p.objects[0]!.add).toEqual(['C']);
    expect(p.objects[0]!.short).toBe(1);
    expect(summarize(p, policy).reason).toMatch(/refused .*: D/);
    const offline = plan({ objects: [vol(1)], candidates: [cand('C'), cand('D')], policy, now: NOW, avoid: new Map([['D', 'offline' as const], ['C', 'offline' as const]]) });
    expect(summarize(offline, policy)).toMatchObject({ met: 0, placing: 0 });
    expect(summarize(offline, policy).reason).toMatch(/unreachable: C, D/);
  });

  it('says when the family is smaller than R + 1', () => {
    const p = plan({ objects: [vol(1)], candidates: [cand('B'), cand('C', { state: 'revoked' })], policy, now: NOW });
    const s = summarize(p, policy);
    expect(s.familyTooSmall).toBe(true);
    expect(s.reason).toMatch(/the family has 2 household\(s\), fewer than 3/);
    expect(p.objects[0]!.add).toEqual(['B']);
    // Met everywhere: no reason.
    const met = plan({ objects: [vol(1, 100, ['B', 'C'])], candidates: [cand('B'), cand('C')], policy, now: NOW });
    expect(summarize(met, policy)).toMatchObject({ met: 1, placing: 0, reason: null });
  });
});
