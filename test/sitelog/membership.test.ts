import { afterEach, describe, expect, it } from 'vitest';
import type { Db } from '../../storage/catalog/db.js';
import { acceptRemote } from '../../storage/sitelog/store.js';
import { rebuildDerived } from '../../storage/sitelog/derive.js';
import { localLogKeys } from '../../storage/sitelog/local.js';
import { SiteLogError } from '../../storage/sitelog/errors.js';
import type { SigningKey } from '../../storage/sitelog/sign.js';
import { recordPaired, revokeSigned, signedStanding } from '../../storage/trust/members.js';
import { getPeer, isTrusted, savePairedPeer } from '../../storage/trust/peers.js';
import { mergeRoster } from '../../protocol/family/roster.js';
import { Admission } from '../../node/host/admission.js';
import { seeded } from '../support/random.js';
import { cleanup, keyFrom, MemLog, membership, sealedObject, tempCatalog } from './logs.js';

afterEach(cleanup);

/** A site that never ran `init`: its view of the family is rooted at its own log (sitelog_local). */
function site(r: ReturnType<typeof seeded>) {
  const key = keyFrom(r);
  const db = tempCatalog();
  return { key, db, keys: () => localLogKeys(db, key.seed), id: new MemLog(key).siteId };
}

function via(db: Db): Record<string, string> {
  return Object.fromEntries((db.prepare('SELECT site_id, via FROM sitelog_members').all() as { site_id: string; via: string }[]).map((m) => [m.site_id, m.via]));
}

const paired = (db: Db, keys: ReturnType<ReturnType<typeof site>['keys']>, peer: MemLog | { siteId: string }, name = 'x') => {
  savePairedPeer(db, { peerId: peer.siteId, name, siteName: name, addrs: [], quotaOffered: null, quotaGranted: null, introducedBy: null });
  recordPaired(db, keys, { siteId: peer.siteId, inviteId: '0102030405060708', name });
};

function refusedAs(f: () => unknown, code: SiteLogError['code'], origin: string): void {
  let err: unknown;
  try {
    f();
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(SiteLogError);
  expect((err as SiteLogError).code).toBe(code);
  expect((err as SiteLogError).origin).toBe(origin);
}

describe('signed membership', () => {
  it('a member learns new households only from signed paired entries, and trusts them', () => {
    const r = seeded('membership/learn');
    const l = site(r);
    const a = new MemLog(keyFrom(r));
    const b = new MemLog(keyFrom(r));
    paired(l.db, l.keys(), a, 'A');
    expect(signedStanding(l.db, a.siteId)).toBe('member');
    // B is unknown here: no entry, no trust
    expect(isTrusted(l.db, b.siteId)).toBe(false);
    a.append(membership('paired', l.key.publicKey, { name: 'L' }));
    a.append(membership('paired', b.key.publicKey, { name: 'B' }));
    acceptRemote(l.db, a.entries);
    expect(via(l.db)[b.siteId]).toBe('paired');
    expect(getPeer(l.db, b.siteId)).toMatchObject({ state: 'trusted', confirmation: 'signed', introducedBy: a.siteId, siteName: 'B' });
    expect(isTrusted(l.db, b.siteId)).toBe(true);
  });

  it('a third party\'s unsigned claim (a roster naming a household) makes nobody trusted, and never undoes a revocation', () => {
    const r = seeded('membership/roster');
    const l = site(r);
    const a = new MemLog(keyFrom(r));
    const x = new MemLog(keyFrom(r));
    const d = new MemLog(keyFrom(r));
    paired(l.db, l.keys(), a, 'A');
    paired(l.db, l.keys(), d, 'D');
    revokeSigned(l.db, l.keys(), d.siteId);
    const res = mergeRoster(l.db, l.id, a.siteId, {
      members: [
        { peerId: x.siteId, name: 'X', addrs: ['/ip4/10.0.0.9/tcp/4001'], introducedBy: new MemLog(keyFrom(r)).siteId },
        { peerId: d.siteId, name: 'D', addrs: ['/ip4/10.0.0.8/tcp/4001'] },
      ],
      inviteUntil: null,
    });
    expect(res.added).toEqual([]);
    expect(isTrusted(l.db, x.siteId)).toBe(false);
    expect(getPeer(l.db, x.siteId)?.state).toBe('pending');
    expect(signedStanding(l.db, x.siteId)).toBeNull();
    expect(isTrusted(l.db, d.siteId)).toBe(false);
    expect(new Admission(l.db).admitInbound(d.siteId)).toBe(false);
  });

  it('revocation reaches what the revoked site alone admitted, and a revoked site\'s later entries are refused', () => {
    const r = seeded('membership/revoke');
    const l = site(r);
    const a = new MemLog(keyFrom(r));
    const s = new MemLog(keyFrom(r));
    const t = new MemLog(keyFrom(r));
    paired(l.db, l.keys(), a, 'A');
    a.append(membership('paired', s.key.publicKey, { name: 'S' }));
    s.append(membership('paired', t.key.publicKey, { name: 'T' }));
    acceptRemote(l.db, [...a.entries, ...s.entries]);
    expect(isTrusted(l.db, t.siteId)).toBe(true);

    // A revokes S after S's first entry: every member applies it, T goes with S
    a.append(membership('revoked', s.key.publicKey, { after: 1 }));
    acceptRemote(l.db, a.entries.slice(-1));
    expect(via(l.db)).toMatchObject({ [s.siteId]: 'revoked' });
    expect(via(l.db)[t.siteId]).toBeUndefined();
    expect(isTrusted(l.db, s.siteId)).toBe(false);
    expect(isTrusted(l.db, t.siteId)).toBe(false);
    expect(isTrusted(l.db, a.siteId)).toBe(true);
    // S signs on after its cut-off: refused, offender named, nothing stored
    s.append(membership('revoked', a.key.publicKey, { after: 0 }));
    refusedAs(() => acceptRemote(l.db, s.entries.slice(-1)), 'revoked', s.siteId);
    expect(isTrusted(l.db, a.siteId)).toBe(true);
  });

  it('a revoked household comes back only through a fresh invite, whose log then counts again', () => {
    const r = seeded('membership/readmit');
    const l = site(r);
    const a = new MemLog(keyFrom(r));
    const s = new MemLog(keyFrom(r));
    paired(l.db, l.keys(), a, 'A');
    a.append(membership('paired', s.key.publicKey, { name: 'S' }));
    s.append(sealedObject(r));
    acceptRemote(l.db, [...a.entries, ...s.entries]);
    a.append(membership('revoked', s.key.publicKey, { after: 1 }));
    acceptRemote(l.db, a.entries.slice(-1));
    s.append(sealedObject(r));
    refusedAs(() => acceptRemote(l.db, s.entries.slice(-1)), 'revoked', s.siteId);
    // a roster or an old paired entry does not bring it back
    acceptRemote(l.db, a.entries);
    expect(signedStanding(l.db, s.siteId)).toBe('revoked');

    // another member (elsewhere) re-invites S: its log acknowledges the revocation, then pairs
    const b = new MemLog(keyFrom(r));
    paired(l.db, l.keys(), b, 'B');
    b.append(membership('revoked', s.key.publicKey, { after: 1 }));
    b.append(membership('paired', s.key.publicKey, { name: 'S again' }));
    // in one batch with S's later entry, whatever the order
    acceptRemote(l.db, [s.entries[1]!, ...b.entries]);
    expect(signedStanding(l.db, s.siteId)).toBe('member');
    expect(isTrusted(l.db, s.siteId)).toBe(true);
    const before = via(l.db);
    rebuildDerived(l.db);
    expect(via(l.db)).toEqual(before);

    // this site re-invites a household it revoked itself: recordPaired acknowledges, then pairs
    const d = new MemLog(keyFrom(r));
    paired(l.db, l.keys(), d, 'D');
    revokeSigned(l.db, l.keys(), d.siteId);
    expect(isTrusted(l.db, d.siteId)).toBe(false);
    paired(l.db, l.keys(), d, 'D');
    expect(signedStanding(l.db, d.siteId)).toBe('member');
    expect(isTrusted(l.db, d.siteId)).toBe(true);
  });

  it('two members revoking each other are both revoked; a stranger revokes nobody', () => {
    const r = seeded('membership/mutual');
    const l = site(r);
    const [a, b, c, x] = [0, 1, 2, 3].map(() => new MemLog(keyFrom(r)));
    for (const [m, n] of [[a!, 'A'], [b!, 'B'], [c!, 'C']] as const) paired(l.db, l.keys(), m, n);
    x!.append(membership('revoked', c!.key.publicKey, { after: 0 }));
    acceptRemote(l.db, x!.entries);
    expect(signedStanding(l.db, c!.siteId)).toBe('member');
    a!.append(membership('revoked', b!.key.publicKey, { after: 0 }));
    b!.append(membership('revoked', a!.key.publicKey, { after: 0 }));
    acceptRemote(l.db, [...b!.entries, ...a!.entries]);
    expect(via(l.db)).toMatchObject({ [a!.siteId]: 'revoked', [b!.siteId]: 'revoked', [c!.siteId]: 'paired', [l.id]: 'self' });
    expect([a, b, c].map((m) => isTrusted(l.db, m!.siteId))).toEqual([false, false, true]);
    // the family re-invites the one it still trusts
    paired(l.db, l.keys(), a!, 'A');
    expect([a, b].map((m) => signedStanding(l.db, m!.siteId))).toEqual(['member', 'revoked']);
  });
});
