import { scrubWal, type Db } from '../catalog/db.js';

/**
 * Invitations issued by this site (catalog table `invites`). An invite is usable while it is
 * unexpired, unused and has not seen too many wrong proofs; using it is one transaction, so two
 * joiners racing with the same code cannot both win.
 */

/** Wrong proofs tolerated before an invite is burnt (a guesser gets this many tries, ever). */
export const MAX_FAILED_ATTEMPTS = 5;

export interface InviteRow {
  id: string;
  secret: Uint8Array | null;
  label: string;
  quotaOffered: number | null;
  createdAt: number;
  expiresAt: number;
  usedAt: number | null;
  usedBy: string | null;
  failedAttempts: number;
  cancelledAt: number | null;
}

interface RawInvite {
  id: string;
  secret: Buffer | null;
  label: string;
  quota_offered: number | null;
  created_at: number;
  expires_at: number;
  used_at: number | null;
  used_by: string | null;
  failed_attempts: number;
  cancelled_at: number | null;
}

const toRow = (r: RawInvite): InviteRow => ({
  id: r.id,
  secret: r.secret ? new Uint8Array(r.secret) : null,
  label: r.label,
  quotaOffered: r.quota_offered,
  createdAt: r.created_at,
  expiresAt: r.expires_at,
  usedAt: r.used_at,
  usedBy: r.used_by,
  failedAttempts: r.failed_attempts,
  cancelledAt: r.cancelled_at ?? null,
});

export function createInvite(
  db: Db,
  inv: { id: string; secret: Uint8Array; label: string; quotaOffered: number | null; expiresAt: number },
  now = Date.now(),
): void {
  db.prepare(
    `INSERT INTO invites (id, secret, label, quota_offered, created_at, expires_at)
     VALUES (?, ?, ?, ?, ?, ?)`,
  ).run(inv.id, Buffer.from(inv.secret), inv.label, inv.quotaOffered, now, inv.expiresAt);
}

export function getInvite(db: Db, id: string): InviteRow | null {
  const r = db.prepare('SELECT * FROM invites WHERE id = ?').get(id) as RawInvite | undefined;
  return r ? toRow(r) : null;
}

export type InviteState = 'open' | 'unknown' | 'used' | 'expired' | 'burnt' | 'cancelled';

export function inviteState(inv: InviteRow | null, now = Date.now()): InviteState {
  if (!inv) return 'unknown';
  if (inv.usedAt !== null) return 'used';
  if (inv.cancelledAt !== null) return 'cancelled';
  if (inv.failedAttempts >= MAX_FAILED_ATTEMPTS) return 'burnt';
  if (inv.expiresAt <= now || inv.secret === null) return 'expired';
  return 'open';
}

/** Marks the invite used by `peerId` if it is still open; false if someone else won. */
export function consumeInvite(db: Db, id: string, peerId: string, now = Date.now()): boolean {
  const res = db
    .prepare(
      `UPDATE invites SET used_at = ?, used_by = ?, secret = NULL
       WHERE id = ? AND used_at IS NULL AND cancelled_at IS NULL AND expires_at > ? AND failed_attempts < ?`,
    )
    .run(now, peerId, id, now, MAX_FAILED_ATTEMPTS);
  if (res.changes === 1) scrubWal(db); // the erased secret must not stay in the WAL
  return res.changes === 1;
}

/**
 * Counts one wrong proof, atomically: the counter never passes MAX_FAILED_ATTEMPTS however many
 * proofs arrive at once. Returns the new count, or null when the invite was already burnt (or is
 * no longer open), so the caller can say so. Only a wrong proof counts (docs/pairing.md).
 */
export function recordFailedAttempt(db: Db, id: string): number | null {
  // The attempt that burns the invite also erases its secret: nothing can use it any more.
  const v = db
    .prepare(
      `UPDATE invites SET failed_attempts = failed_attempts + 1,
              secret = CASE WHEN failed_attempts + 1 >= ? THEN NULL ELSE secret END
       WHERE id = ? AND failed_attempts < ? AND used_at IS NULL AND cancelled_at IS NULL
       RETURNING failed_attempts`,
    )
    .pluck()
    .get(MAX_FAILED_ATTEMPTS, id, MAX_FAILED_ATTEMPTS) as number | undefined;
  if (v !== undefined && v >= MAX_FAILED_ATTEMPTS) scrubWal(db); // the erased secret must not stay in the WAL
  return v ?? null;
}

/** Every invite (newest first); `all: false` keeps only the open ones. Secrets are not read. */
export type InviteSummary = Omit<InviteRow, 'secret'> & { state: InviteState };

export function listInvites(db: Db, opts: { all?: boolean } = {}, now = Date.now()): InviteSummary[] {
  const rows = (db.prepare('SELECT * FROM invites ORDER BY created_at DESC, id').all() as RawInvite[]).map(toRow);
  return rows
    .map((r): InviteSummary => {
      const { secret: _secret, ...rest } = r;
      return { ...rest, state: inviteState(r, now) };
    })
    .filter((r) => opts.all || r.state === 'open');
}

/** Invites whose id starts with `prefix` (ids are 16 hex characters). */
export function findInvites(db: Db, prefix: string): string[] {
  const p = prefix.toLowerCase();
  if (!/^[0-9a-f]{1,16}$/.test(p)) return [];
  return (db.prepare('SELECT id FROM invites').pluck().all() as string[]).filter((id) => id.startsWith(p));
}

/** Cancels an invite that is not used yet: it can no longer be used, and its secret is erased. */
export function cancelInvite(db: Db, id: string, now = Date.now()): boolean {
  const cancelled = db.prepare('UPDATE invites SET cancelled_at = ?, secret = NULL WHERE id = ? AND used_at IS NULL AND cancelled_at IS NULL').run(now, id).changes === 1;
  if (cancelled) scrubWal(db); // the erased secret must not stay in the WAL
  return cancelled;
}

/** Latest expiry among open invites, or null: the gater admits unknown peers only until then. */
export function openInviteUntil(db: Db, now = Date.now()): number | null {
  const v = db
    .prepare('SELECT max(expires_at) FROM invites WHERE used_at IS NULL AND cancelled_at IS NULL AND expires_at > ? AND failed_attempts < ?')
    .pluck()
    .get(now, MAX_FAILED_ATTEMPTS) as number | null;
  return v ?? null;
}

/** Erases secrets of expired invites (they can never be used; no reason to keep them). */
export function purgeExpiredSecrets(db: Db, now = Date.now()): void {
  const res = db.prepare('UPDATE invites SET secret = NULL WHERE secret IS NOT NULL AND expires_at <= ?').run(now);
  if (res.changes > 0) scrubWal(db); // the erased secrets must not stay in the WAL
}
