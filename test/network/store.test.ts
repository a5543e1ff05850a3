import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openCatalog, type Db } from '../../storage/catalog/db.js';
import { consumeInvite, createInvite, getInvite, inviteState, MAX_FAILED_ATTEMPTS, openInviteUntil, purgeExpiredSecrets, recordFailedAttempt } from '../../storage/trust/invites.js';
import { findPeer, isRevoked, isTrusted, revokePeer, savePairedPeer, saveIntroducedPeer } from '../../storage/trust/peers.js';

const P1 = '12D3KooWFDtyYDvHXJ4ZTY1GvJjfcyTdhWWo3oncFQDQYK2KPE2B';
const P2 = '12D3KooWSp2N55gzFpy6mp7ZekbcSrw8CToqsyGpyHSMxyhrtzNA';
const peer = (peerId: string, introducedBy: string | null = null) => ({
  peerId, name: 'n', siteName: 's', addrs: ['/ip4/10.0.0.1/tcp/1'], quotaOffered: 1, quotaGranted: 2, introducedBy,
});

describe('trust store (real SQLite catalog, migration 40)', () => {
  let dir: string;
  let db: Db;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lomo-store-'));
    db = openCatalog(path.join(dir, 'lomob.db'));
  });
  afterEach(() => {
    db.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('an invite is used exactly once, and not after expiry', () => {
    const now = Date.now();
    createInvite(db, { id: 'aa', secret: new Uint8Array(16), label: '', quotaOffered: null, expiresAt: now + 60_000 }, now);
    expect(openInviteUntil(db, now)).toBe(now + 60_000);
    expect(consumeInvite(db, 'aa', P1, now)).toBe(true);
    expect(consumeInvite(db, 'aa', P2, now)).toBe(false); // a racing second joiner loses
    const inv = getInvite(db, 'aa')!;
    expect(inv.usedBy).toBe(P1);
    expect(inv.secret).toBeNull(); // the secret is erased once used
    expect(inviteState(inv)).toBe('used');
    expect(openInviteUntil(db, now)).toBeNull();

    createInvite(db, { id: 'bb', secret: new Uint8Array(16), label: '', quotaOffered: null, expiresAt: now + 1000 }, now);
    expect(consumeInvite(db, 'bb', P1, now + 1000)).toBe(false);
    expect(inviteState(getInvite(db, 'bb'), now + 1000)).toBe('expired');
    purgeExpiredSecrets(db, now + 1000);
    expect(getInvite(db, 'bb')!.secret).toBeNull();
  });

  it('wrong proofs burn an invite', () => {
    createInvite(db, { id: 'cc', secret: new Uint8Array(16), label: '', quotaOffered: null, expiresAt: Date.now() + 60_000 });
    for (let i = 0; i < MAX_FAILED_ATTEMPTS; i++) recordFailedAttempt(db, 'cc');
    expect(inviteState(getInvite(db, 'cc'))).toBe('burnt');
    expect(consumeInvite(db, 'cc', P1)).toBe(false);
  });

  it('a roster never re-admits a revoked peer; an explicit pairing does', () => {
    savePairedPeer(db, peer(P1));
    expect(isTrusted(db, P1)).toBe(true);
    revokePeer(db, P1);
    expect(isTrusted(db, P1)).toBe(false);
    expect(isRevoked(db, P1)).toBe(true);
    expect(saveIntroducedPeer(db, peer(P1, P2))).toBe(false);
    expect(isTrusted(db, P1)).toBe(false);
    savePairedPeer(db, peer(P1));
    expect(isTrusted(db, P1)).toBe(true);
    expect(saveIntroducedPeer(db, peer(P2, P1))).toBe(true);
    expect(findPeer(db, P2.slice(0, 12))).toHaveLength(1);
    expect(findPeer(db, 'n')).toHaveLength(2); // ambiguous name: the command asks for the id
  });
});
