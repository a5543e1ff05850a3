import type { Db } from '../catalog/db.js';
import { localSiteId, saveFamilyObject } from '../objects/catalog.js';
import { recordHolding } from '../placements/holdings.js';
import { familyChunkKey, familyObjectKey } from '../naming/object-keys.js';
import { decodeBody, type MembershipBody, type ObjectSealedBody, type PlacementBody } from './body.js';
import { decodeEntry, type SiteLogEntry } from './entry.js';
import { bodyOf } from './decoded.js';
import { stmt } from './stmts.js';
import { siteIdOfKey } from './site-id.js';
import { cutoffSql } from './revocation.js';
import { localOrigin } from './local.js';
import { applySignedMembership } from '../trust/members.js';
import { successions } from './succession.js';

/**
 * What the catalog knows about other sites, derived from their logs only (DESIGN "Family"):
 * their objects (saveFamilyObject), who holds what (placements rows made from placement
 * entries), and membership. Everything here can be dropped and rebuilt from sitelog_entries
 * (rebuildDerived), and the result does not depend on the order the entries arrived in:
 * placements keep the newest fact per holder/object/chunk, and membership is recomputed whole.
 */

/** Applies newly stored entries (called inside the store's transaction). */
export function applyEntries(db: Db, entries: readonly SiteLogEntry[]): void {
  const local = localSiteId(db);
  let membership = false;
  for (const e of entries) {
    const b = bodyOf(e);
    if (b.kind === 'objectSealed') applyObject(db, e.originId, local, b.body);
    // This site's own copies in tiers are its rows already (recordPlacement writes both; a rebuild
    // reads them from the deltas); what it says of peers holding its objects is derived as any fact.
    else if (b.kind === 'placement' && !(e.originId === local && 'tierUrl' in b.body.holder)) applyPlacement(db, e, b.body);
    else if (b.kind === 'membership' || b.kind === 'siteRecord' || b.kind === 'succession') membership = true;
  }
  if (membership) recomputeMembers(db);
}

function applyObject(db: Db, owner: string, local: string | null, o: ObjectSealedBody): void {
  // This site's own objects are written by saveObject with their private half, in the same
  // transaction as their entry (appendLocal); the log alone cannot recreate the plaintext hash.
  if (owner === local) return;
  saveFamilyObject(db, owner, {
    objectId: o.objectId,
    kind: o.objectKind,
    formatVersion: o.formatVersion,
    messageSize: o.messageSize,
    chunkPlain: o.chunkPlain,
    plainSize: o.plainSize,
    cipherSize: o.cipherSize,
    cipherSha256: o.cipherSha256,
    chunks: o.chunks.map((c, index) => ({ index, size: c.size, sha256: c.sha256, merkleRoot: c.merkleRoot })),
  });
  // Placement entries that arrived before the object (another site's log first) apply now.
  const keys = stmt(db, 'SELECT DISTINCT holder_site, tier_url, chunk_idx FROM sitelog_placement_facts WHERE owner_site = ? AND object_id = ?')
    .all(owner, o.objectId) as FactKey[];
  for (const k of keys) materialize(db, { ...k, owner_site: owner, object_id: o.objectId });
}

interface FactKey {
  owner_site: string;
  object_id: Buffer;
  chunk_idx: number;
  holder_site: string | null;
  tier_url: string | null;
}

function applyPlacement(db: Db, e: SiteLogEntry, p: PlacementBody): void {
  const key: FactKey = {
    owner_site: siteIdOfKey(p.owner),
    object_id: p.objectId,
    chunk_idx: p.chunkIndex ?? -1,
    holder_site: 'site' in p.holder ? siteIdOfKey(p.holder.site) : null,
    tier_url: 'tierUrl' in p.holder ? p.holder.tierUrl : null,
  };
  stmt(db, 
    `INSERT OR IGNORE INTO sitelog_placement_facts (origin, seq, owner_site, object_id, chunk_idx, holder_site, tier_url, state, verified_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  ).run(e.origin, e.seq, key.owner_site, key.object_id, key.chunk_idx, key.holder_site, key.tier_url, p.state === 'held' ? 1 : 2, p.verifiedAt);
  materialize(db, key);
}

/** Makes the placements table show the newest fact for one holder/object/chunk. */
function materialize(db: Db, k: FactKey): void {
  // Only the columns a holding needs (not familyObject's whole record with every chunk: this runs
  // once per placement entry of a sync).
  const obj = stmt(db, 'SELECT id AS row, cipher_size AS cipherSize, cipher_sha256 AS cipherSha256 FROM objects WHERE owner_site = ? AND object_id = ?')
    .get(k.owner_site, k.object_id) as { row: number; cipherSize: number; cipherSha256: Buffer } | undefined;
  if (!obj) return; // the owner's object-sealed entry has not arrived yet
  const chunk =
    k.chunk_idx === -1
      ? null
      : (stmt(db, 'SELECT idx AS "index", size, sha256 FROM chunks WHERE object_row = ? AND idx = ?').get(obj.row, k.chunk_idx) as
          | { index: number; size: number; sha256: Buffer }
          | undefined);
  if (chunk === undefined) return; // names a chunk the object does not have: ignored
  const win = stmt(db, 
      `SELECT state, verified_at FROM sitelog_placement_facts
        WHERE owner_site = ? AND object_id = ? AND chunk_idx = ? AND holder_site IS ? AND tier_url IS ?
        ORDER BY verified_at DESC, state DESC, origin DESC, seq DESC LIMIT 1`,
    )
    .get(k.owner_site, k.object_id, k.chunk_idx, k.holder_site, k.tier_url) as { state: number; verified_at: number };
  const tierKey = k.tier_url === null ? undefined : chunk ? familyChunkKey(k.owner_site, k.object_id, chunk.index) : familyObjectKey(k.owner_site, k.object_id);
  const live = (
    k.holder_site !== null
      ? stmt(db, 'SELECT id, verified_at FROM placements WHERE peer_site = ? AND object_row = ? AND ifnull(chunk_idx, -1) = ? AND deleted_at IS NULL')
          .get(k.holder_site, obj.row, k.chunk_idx)
      : stmt(db, 'SELECT id, verified_at, object_row, chunk_idx FROM placements WHERE tier_url = ? AND key = ? AND deleted_at IS NULL').get(k.tier_url, tierKey)
  ) as { id: number; verified_at: number } | undefined;
  const derived = (id: number) => stmt(db, 'SELECT 1 FROM sitelog_derived_placements WHERE placement_id = ?').get(id) !== undefined;
  if (win.state === 1) {
    if (live && live.verified_at >= win.verified_at) return;
    const id = recordHolding(db, {
      holder: k.holder_site !== null ? { site: k.holder_site } : { tierUrl: k.tier_url! },
      objectRow: obj.row,
      chunkIndex: chunk ? chunk.index : null,
      key: tierKey,
      size: chunk ? chunk.size : obj.cipherSize,
      sha256: chunk ? chunk.sha256 : obj.cipherSha256,
      verifiedAt: win.verified_at,
    });
    if (!live || live.id !== id) stmt(db, 'INSERT OR IGNORE INTO sitelog_derived_placements (placement_id) VALUES (?)').run(id);
  } else if (live && derived(live.id) && live.verified_at <= win.verified_at) {
    // A holder's copy reported gone; rows this site recorded itself are its own to retire.
    stmt(db, 'UPDATE placements SET deleted_at = ? WHERE id = ?').run(win.verified_at, live.id);
  }
}

interface Admission {
  origin: string;
  seq: number;
  via: 'paired' | 'introduced';
  name: string;
}

interface RevocationFact {
  by: string;
  seq: number;
  after: number;
}

/**
 * The family from this site outwards (docs/sitelog-format.md §6), in three steps so the result
 * depends only on the stored entries, never on their arrival order:
 *   1. who is *admitted*: reachable from this site through signed paired entries (an introduction
 *      counts only as a pointer to its introducer's paired entry), revocations ignored;
 *   2. who is *revoked*: a site named by a revocation signed by an admitted site, unless a
 *      re-admission (revocation.ts) by an admitted, unrevoked site lifted it — any member may
 *      revoke any other, and two members revoking each other are both revoked;
 *   3. who is a *member*: reachable again, now without revoked sites, which admit no one — so a
 *      revocation reaches whomever the revoked site alone brought in.
 * A stranger's log (stored as evidence) can neither admit nor revoke anyone.
 */
export function recomputeMembers(db: Db): void {
  const localKey = localOrigin(db);
  const local = localSiteId(db) ?? (localKey ? siteIdOfKey(localKey) : null);
  db.prepare('DELETE FROM sitelog_members').run();
  const admissions = new Map<string, Admission[]>(); // subject -> admissions
  const keys = new Map<string, Buffer>();
  const pairedAt = new Map<string, MembershipBody>(); // "origin/seq" -> paired body
  const revocations = new Map<string, RevocationFact[]>(); // subject -> revocations
  const readmissions: { by: string; subject: string; coversAfter: number }[] = [];
  const rows = db
    .prepare(`SELECT e.bytes, ${cutoffSql('e.origin')} AS cut FROM sitelog_entries e WHERE e.kind = 5 ORDER BY e.origin, e.seq`)
    .all() as { bytes: Buffer; cut: number | null }[];
  const all = rows.map((r) => {
    const e = decodeEntry(r.bytes);
    return { e, m: (decodeBody(e.kind, e.body) as { body: MembershipBody }).body, valid: r.cut === null || e.seq <= r.cut };
  });
  // After a cut-off only a counter-revocation counts (of a site that revoked this one): mutual
  // revocations revoke both, whichever was signed first (docs/sitelog-format.md §6).
  const revokedBy = new Set(all.filter((x) => x.m.action === 'revoked').map((x) => `${x.e.originId}>${siteIdOfKey(x.m.subject)}`));
  const entries = all.filter((x) => x.valid || (x.m.action === 'revoked' && revokedBy.has(`${siteIdOfKey(x.m.subject)}>${x.e.originId}`)));
  for (const { e, m } of entries) if (m.action === 'paired') pairedAt.set(`${e.originId}/${e.seq}`, m);
  const revokedIn = new Map<string, number>(); // "origin/subject" -> largest cut-off that log named so far
  for (const { e, m } of entries) {
    const subject = siteIdOfKey(m.subject);
    keys.set(subject, m.subject);
    if (m.action === 'revoked') {
      revocations.set(subject, [...(revocations.get(subject) ?? []), { by: e.originId, seq: e.seq, after: m.revokedAfterSeq }]);
      const k = `${e.originId}/${subject}`;
      revokedIn.set(k, Math.max(revokedIn.get(k) ?? 0, m.revokedAfterSeq));
      continue;
    }
    let origin = e.originId;
    let seq = e.seq;
    if (m.action === 'introduced') {
      // Not a claim of its own: valid only as a pointer to the introducer's paired entry for the same subject.
      const ref = pairedAt.get(`${siteIdOfKey(m.introducer)}/${m.introducerSeq}`);
      if (!ref || !ref.subject.equals(m.subject)) continue;
      origin = siteIdOfKey(m.introducer);
      seq = m.introducerSeq;
    } else {
      // Entries come in log order, so revokedIn holds what this log revoked before this entry.
      const covers = revokedIn.get(`${e.originId}/${subject}`);
      if (covers !== undefined) readmissions.push({ by: e.originId, subject, coversAfter: covers });
    }
    const list = admissions.get(subject) ?? [];
    list.push({ origin, seq, via: m.action, name: m.name });
    admissions.set(subject, list);
  }
  // A household recovered on a new machine (§5.6): the machine its log's succession names speaks
  // for it, admitted by that entry. This site's own successor (this machine, after `recover`) is
  // this site.
  const succ = successions(db);
  for (const s of succ.values()) keys.set(s.successor, s.successorKey);
  const selfSuccessor = local !== null ? succ.get(local)?.successor : undefined;
  const reach = (excluded: ReadonlySet<string>) => {
    const members = new Map<string, Admission | null>();
    if (local !== null) members.set(local, null);
    if (selfSuccessor !== undefined) members.set(selfSuccessor, null);
    for (let grew = true; grew; ) {
      grew = false;
      for (const s of succ.values()) {
        if (!members.has(s.origin) || excluded.has(s.origin) || members.has(s.successor) || excluded.has(s.successor)) continue;
        members.set(s.successor, { origin: s.origin, seq: s.seq, via: 'paired', name: members.get(s.origin)?.name ?? '' });
        grew = true;
      }
      for (const [subject, list] of [...admissions].sort(([a], [b]) => (a < b ? -1 : 1))) {
        if (members.has(subject) || excluded.has(subject)) continue;
        const by = list
          .filter((a) => members.has(a.origin) && !excluded.has(a.origin))
          .sort((a, b) => (a.origin < b.origin ? -1 : a.origin > b.origin ? 1 : a.seq - b.seq))[0];
        if (by) {
          members.set(subject, by);
          grew = true;
        }
      }
    }
    return members;
  };
  // 1. admitted, whatever the revocations say: only their revocations and re-admissions count.
  const admitted = reach(new Set());
  // 2. revoked. Lifting can only shrink the revoked set, and a smaller set lets more sites' re-admissions
  // count, so this converges; a revoked site's own re-admissions never count.
  const standing = new Map<string, RevocationFact>(); // subject -> the smallest cut-off in force
  for (let revoked: Set<string> | null = null; ; ) {
    standing.clear();
    const lifters = readmissions.filter((x) => admitted.has(x.by) && !(revoked ?? new Set(revocations.keys())).has(x.by));
    for (const [subject, list] of revocations) {
      if (subject === local || subject === selfSuccessor) continue; // this site keeps its own view of the family
      for (const r of list) {
        if (!admitted.has(r.by)) continue;
        if (lifters.some((x) => x.subject === subject && x.coversAfter >= r.after)) continue;
        const was = standing.get(subject);
        if (!was || r.after < was.after) standing.set(subject, r);
      }
    }
    const next = new Set(standing.keys());
    if (revoked && next.size === revoked.size) break;
    revoked = next;
  }
  // 3. members: revoked sites admit no one.
  const members = reach(new Set(standing.keys()));
  const ins = db.prepare(
    `INSERT INTO sitelog_members (site_id, public_key, via, admitted_by, admitted_seq, name, revoked_by, revoked_seq, revoked_after)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  for (const [site, a] of members) {
    const key = keys.get(site) ?? (site === local ? localKey : null) ?? (db.prepare('SELECT origin FROM sitelog_heads WHERE site_id = ?').pluck().get(site) as Buffer | undefined);
    if (!key) continue; // this site before its first log entry
    ins.run(site, key, a ? a.via : 'self', a?.origin ?? null, a?.seq ?? null, a?.name ?? '', null, null, null);
  }
  for (const [site, r] of standing) ins.run(site, keys.get(site)!, 'revoked', null, null, '', r.by, r.seq, r.after);
  applySignedMembership(db);
}

/**
 * Drops the placements derived from logs, the placement facts, and the objects of other sites than
 * `keep` that no row of this site's own still points at. `recover` drops them all (keep: null)
 * before it writes the household's own rows back with their old ids.
 */
export function dropDerived(db: Db, keep: string | null): void {
  const derived = db.prepare('SELECT placement_id FROM sitelog_derived_placements').pluck().all() as number[];
  db.prepare('DELETE FROM sitelog_derived_placements').run();
  const del = db.prepare('DELETE FROM placements WHERE id = ?');
  for (const id of derived) del.run(id);
  db.prepare('DELETE FROM sitelog_placement_facts').run();
  const orphans = db
    .prepare(`SELECT id FROM objects o WHERE owner_site IS NOT ? AND NOT EXISTS (SELECT 1 FROM placements p WHERE p.object_row = o.id)`)
    .pluck()
    .all(keep) as number[];
  const delChunks = db.prepare('DELETE FROM chunks WHERE object_row = ?');
  const delObject = db.prepare('DELETE FROM objects WHERE id = ?');
  for (const id of orphans) {
    delChunks.run(id);
    delObject.run(id);
  }
}

/**
 * Drops everything derived from logs and derives it again from the stored entries, oldest first
 * per log; entries after a revocation's cut-off are left out. Another site's object stays when a
 * row this site wrote itself (one of its own holdings) still points at it.
 */
export function rebuildDerived(db: Db): void {
  db.transaction(() => {
    dropDerived(db, localSiteId(db));
    // Pages of entries, so a log of millions never sits in memory at once.
    const page = db.prepare(
      `SELECT e.origin, e.seq, e.bytes FROM sitelog_entries e
        WHERE e.kind IN (2, 4) AND (e.origin, e.seq) > (?, ?)
          AND e.seq <= ifnull(${cutoffSql('e.origin')}, e.seq)
        ORDER BY e.origin, e.seq LIMIT 1000`,
    );
    let after: [Buffer, number] = [Buffer.alloc(0), 0];
    for (;;) {
      const rows = page.all(...after) as { origin: Buffer; seq: number; bytes: Buffer }[];
      if (!rows.length) break;
      applyEntries(db, rows.map((r) => decodeEntry(r.bytes)));
      const last = rows[rows.length - 1]!;
      after = [last.origin, last.seq];
    }
    recomputeMembers(db);
  })();
}
