import type { ObjectKind } from '../objects/format.js';
import { goalOf, type ReplicationPolicy } from './policy.js';

/**
 * The placement planner (docs/replication.md "Chunk replication", placement policy): for each of
 * this site's sealed objects, which households hold it, which of them count, and which new ones to
 * send it to. Pure: the catalog side (catalog.ts) reads the inputs, the node's replicator runs the
 * result, so the choices can be tested without a network.
 */

/** A family household as a possible holder. */
export interface Candidate {
  /** The household: the site id placements name (its log's origin). */
  household: string;
  /** The machine that speaks for it now (whom to dial). */
  peerId: string;
  state: 'trusted' | 'pending' | 'revoked';
  connected: boolean;
  lastSeenAt: number | null;
  /** What it agreed to keep for us (peers.quota_granted); null: no limit agreed. */
  quotaGranted: number | null;
  /** Bytes of ours it holds already (live placements). */
  placedBytes: number;
}

export interface PlanObject {
  row: number;
  kind: ObjectKind;
  /** Bytes a holder keeps (the object's ciphertext). */
  size: number;
  /** Households with a live whole-object placement of it. */
  holders: string[];
}

/** Why a holder does not count, or why a household is not chosen. */
export type NotCounting = 'revoked' | 'stale' | 'not-a-member';
/** Why a household was left out when choosing new holders. */
export type Skipped = 'quota' | 'pending' | 'revoked' | 'stale' | 'refused' | 'offline';

export interface ObjectPlan {
  row: number;
  kind: ObjectKind;
  size: number;
  goal: number;
  /** Holders that count toward the goal. */
  counting: string[];
  /** Holders that hold it but do not count. */
  notCounting: { household: string; why: NotCounting }[];
  /** Households to send it to now, best first. */
  add: string[];
  /** How many holders are still missing after `add` (0: the goal can be met). */
  short: number;
}

export interface PlanInput {
  objects: PlanObject[];
  candidates: Candidate[];
  policy: ReplicationPolicy;
  now: number;
  /** Households to leave out for now (refused recently, unreachable), with why. */
  avoid?: ReadonlyMap<string, 'refused' | 'offline'>;
}

export interface Plan {
  objects: ObjectPlan[];
  /** Trusted households that could hold copies at all (not revoked, not pending). */
  members: number;
  /** Per household left out of some choice, the reason (the report names them). */
  skipped: Map<string, Skipped>;
}

/** Whether a holder's copy counts: a trusted or pending member seen within the policy's limit. */
export function counts(c: Candidate | undefined, policy: ReplicationPolicy, now: number): NotCounting | null {
  if (!c) return 'not-a-member';
  if (c.state === 'revoked') return 'revoked';
  if (!c.connected && (c.lastSeenAt === null || now - c.lastSeenAt > policy.holderStaleMs)) return 'stale';
  return null;
}

export function plan(input: PlanInput): Plan {
  const { policy, now } = input;
  const byHousehold = new Map(input.candidates.map((c) => [c.household, c]));
  // Bytes promised in this plan count against quota and spread as the plan goes on.
  const placed = new Map(input.candidates.map((c) => [c.household, c.placedBytes]));
  const skipped = new Map<string, Skipped>();
  const members = input.candidates.filter((c) => c.state === 'trusted').length;
  const objects: ObjectPlan[] = [];
  for (const o of input.objects) {
    const goal = goalOf(o.kind, policy);
    const counting: string[] = [];
    const notCounting: ObjectPlan['notCounting'] = [];
    for (const h of o.holders) {
      const why = counts(byHousehold.get(h), policy, now);
      if (why) notCounting.push({ household: h, why });
      else counting.push(h);
    }
    const add: string[] = [];
    const need = goal - counting.length;
    if (need > 0) {
      const eligible: Candidate[] = [];
      for (const c of input.candidates) {
        if (o.holders.includes(c.household)) continue; // holds it already (counting or not)
        const why = leftOut(c, o.size, placed.get(c.household) ?? 0, input.avoid, policy, now);
        if (why) {
          if (!skipped.has(c.household) || why !== 'quota') skipped.set(c.household, why);
        } else eligible.push(c);
      }
      // Connected first (the copy can start now), then the household with the fewest of our
      // bytes (spread), then by id so that the plan is the same on every run.
      eligible.sort(
        (a, b) =>
          Number(b.connected) - Number(a.connected) ||
          (placed.get(a.household) ?? 0) - (placed.get(b.household) ?? 0) ||
          (a.household < b.household ? -1 : a.household > b.household ? 1 : 0),
      );
      for (const c of eligible.slice(0, need)) {
        add.push(c.household);
        placed.set(c.household, (placed.get(c.household) ?? 0) + o.size);
      }
    }
    objects.push({ row: o.row, kind: o.kind, size: o.size, goal, counting, notCounting, add, short: Math.max(0, need - add.length) });
  }
  return { objects, members, skipped };
}

function leftOut(
  c: Candidate,
  size: number,
  placedBytes: number,
  avoid: PlanInput['avoid'],
  policy: ReplicationPolicy,
  now: number,
): Skipped | null {
  if (c.state !== 'trusted') return c.state;
  if (counts(c, policy, now)) return 'stale';
  const avoided = avoid?.get(c.household);
  if (avoided) return avoided;
  if (c.quotaGranted !== null && placedBytes + size > c.quotaGranted) return 'quota';
  return null;
}

/** Why the goal is not met, in words for `sync --wait` and `status` (null: met, or being met now). */
export function shortfallReason(p: Plan, policy: ReplicationPolicy): string | null {
  const short = p.objects.filter((o) => o.short > 0);
  if (short.length === 0) return null;
  const maxGoal = Math.max(...short.map((o) => o.goal));
  if (p.members < maxGoal) {
    return `the family has ${p.members + 1} household(s), fewer than ${policy.replicas + 1} (this one and ${policy.replicas} to hold each volume)`;
  }
  const by = new Map<Skipped, string[]>();
  for (const [h, why] of p.skipped) by.set(why, [...(by.get(why) ?? []), h]);
  const words: Record<Skipped, string> = {
    quota: 'no quota left',
    offline: 'unreachable',
    refused: 'refused lately (quota, disk full or busy), tried again later',
    stale: 'not seen within the holder limit',
    pending: 'waiting for a confirmation',
    revoked: 'revoked',
  };
  const parts = [...by].filter(([why]) => why !== 'revoked').map(([why, hs]) => `${words[why]}: ${hs.join(', ')}`);
  return `${short.length} object(s) short of holders${parts.length ? ` (${parts.join('; ')})` : ''}`;
}

/** What `sync` and `status` say of this site's placement goal. */
export interface PlacementSummary {
  replicas: number;
  /** Households that could hold copies (trusted, not this one). */
  members: number;
  /** The family has fewer than replicas + 1 households: the goal cannot be met. */
  familyTooSmall: boolean;
  objects: number;
  /** Objects with as many counting holders as their goal. */
  met: number;
  /** Objects the plan can send to a holder now (0 with met < objects: the goal cannot be met now). */
  placing: number;
  /** Why not every object is met (null: all are). */
  reason: string | null;
}

export function summarize(p: Plan, policy: ReplicationPolicy): PlacementSummary {
  const met = p.objects.filter((o) => o.counting.length >= o.goal).length;
  const placing = p.objects.filter((o) => o.add.length > 0);
  const reason =
    met === p.objects.length
      ? null
      : (shortfallReason(p, policy) ?? `${placing.length} object(s) being placed on ${[...new Set(placing.flatMap((o) => o.add))].join(', ')}`);
  return { replicas: policy.replicas, members: p.members, familyTooSmall: p.members < policy.replicas, objects: p.objects.length, met, placing: placing.length, reason };
}
