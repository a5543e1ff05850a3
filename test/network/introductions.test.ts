import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { generateKeyPair } from '@libp2p/crypto/keys';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import { openCatalog, type Db } from '../../storage/catalog/db.js';
import { encodeJson, ProtocolViolation } from '../../protocol/framing.js';
import { decodeRoster, mergeRoster } from '../../protocol/family/roster.js';
import { InviteWitness, relayWindowUntil } from '../../protocol/family/invite-window.js';
import { MAX_RELAY_WINDOW_MS, WITNESS_GRACE_MS } from '../../protocol/family/constants.js';
import { repairPeerRows } from '../../protocol/family/repair.js';
import { decodePairMessage } from '../../protocol/pairing/messages.js';
import { MAX_INTRODUCTIONS } from '../../storage/trust/introductions.js';
import { cancelInvite, createInvite, findInvites, getInvite, inviteState, listInvites, MAX_FAILED_ATTEMPTS, openInviteUntil, recordFailedAttempt } from '../../storage/trust/invites.js';
import { confirmPeer, getPeer, isTrusted, listPeers, revokePeer, savePairedPeer, setLocalSiteName } from '../../storage/trust/peers.js';
import type { Member } from '../../protocol/pairing/messages.js';

const newId = async () => peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString();
const paired = (peerId: string, name: string) => ({ peerId, name, siteName: name, addrs: [], quotaOffered: null, quotaGranted: null, introducedBy: null });
const member = (peerId: string, name: string, introducedBy?: string): Member => ({ peerId, name, addrs: ['/ip4/127.0.0.1/tcp/9'], ...(introducedBy ? { introducedBy } : {}) });

describe('roster and pairing decoders refuse what would break later', () => {
  const roster = (m: unknown) => encodeJson({ t: 'roster', members: [m], inviteUntil: null });

  it('a base58 string that is no peer id, a non-Ed25519 id, a bad address: the whole message is refused', async () => {
    const good = await newId();
    expect(decodeRoster(roster({ peerId: good, name: 'ok', addrs: ['/ip4/10.0.0.1/tcp/1'] })).members).toHaveLength(1);
    const bad: unknown[] = [
      { peerId: '1111111111111111111111111111111111111111', name: 'x', addrs: [] },
      { peerId: 'QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N', name: 'rsa-style', addrs: [] }, // a sha256 (RSA) peer id
      { peerId: good, name: 'x', addrs: ['not-a-multiaddr'] },
      { peerId: good, name: 'x', addrs: ['/ip4/999.0.0.1/tcp/1'] },
      { peerId: good, name: 'x', addrs: [], introducedBy: 'zzz' },
    ];
    for (const m of bad) expect(() => decodeRoster(roster(m)), JSON.stringify(m)).toThrow(ProtocolViolation);
    const welcome = (members: unknown[], addrs: string[]) =>
      encodeJson({ t: 'welcome', proof: Buffer.alloc(32).toString('base64'), site: { name: 'A', addrs, quota: null }, members });
    expect(() => decodePairMessage(welcome([bad[0]], []))).toThrow(ProtocolViolation);
    expect(() => decodePairMessage(welcome([], ['garbage']))).toThrow(ProtocolViolation);
    expect(decodePairMessage(welcome([{ peerId: good, name: 'C', addrs: [] }], ['/ip4/1.2.3.4/tcp/5'])).t).toBe('welcome');
  });
});

describe('introductions (real catalog)', () => {
  let dir: string;
  let db: Db;
  let self: string, mallory: string, bob: string;
  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lomo-intro-'));
    db = openCatalog(path.join(dir, 'lomob.db'));
    [self, mallory, bob] = [await newId(), await newId(), await newId()];
    setLocalSiteName(db, 'Alice');
    savePairedPeer(db, paired(mallory, 'Mallory'));
    savePairedPeer(db, paired(bob, 'Bob'));
  });
  afterEach(() => {
    db.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('20 introduced identities: at most the cap is stored, all pending (not trusted), names never collide', async () => {
    const fakes = await Promise.all(Array.from({ length: 20 }, async (_, i) => member(await newId(), `fake-${i}`)));
    const r = mergeRoster(db, self, mallory, { members: [member(mallory, 'Mallory'), member(await newId(), 'Bob'), member(await newId(), 'Alice'), ...fakes], inviteUntil: null });
    expect(r.added).toHaveLength(0);
    expect(r.pending).toHaveLength(MAX_INTRODUCTIONS);
    expect(r.refused.map((x) => x.reason).filter((x) => /already used/.test(x))).toHaveLength(2);
    expect(r.refused.filter((x) => /unconfirmed introductions/.test(x.reason))).toHaveLength(20 - MAX_INTRODUCTIONS);
    for (const m of r.pending) expect(isTrusted(db, m.peerId)).toBe(false);
    expect(listPeers(db).map((p) => p.name).sort()).toEqual(['Bob', 'Mallory']);
    expect(listPeers(db, { includePending: true }).filter((p) => p.state === 'pending')).toHaveLength(MAX_INTRODUCTIONS);
  });

  it('the ORIGINAL introducer is recorded, not the relaying member; a witnessed introduction is trusted', async () => {
    const carol = await newId();
    const dave = await newId();
    // Bob relays Carol, introduced by Mallory: pending, introduced_by Mallory, relayed_by Bob.
    mergeRoster(db, self, bob, { members: [member(carol, 'Carol', mallory)], inviteUntil: null }, true);
    expect(getPeer(db, carol)).toMatchObject({ introducedBy: mallory, relayedBy: bob, state: 'pending' });
    // Bob introduces Dave itself while this site saw Bob's invite open: trusted.
    const r = mergeRoster(db, self, bob, { members: [member(dave, 'Dave', bob)], inviteUntil: null }, true);
    expect(r.added.map((m) => m.peerId)).toEqual([dave]);
    expect(getPeer(db, dave)).toMatchObject({ introducedBy: bob, confirmation: 'witnessed', state: 'trusted' });
    expect(isTrusted(db, dave)).toBe(true);
    // A claim that this site introduced an unknown peer is false: the sender is its introducer.
    const erin = await newId();
    mergeRoster(db, self, bob, { members: [member(erin, 'Erin', self)], inviteUntil: null });
    expect(getPeer(db, erin)!.introducedBy).toBe(bob);
  });

  it('revoking a member revokes recursively what it introduced; later introductions naming it are refused', async () => {
    const [c, d, e] = [await newId(), await newId(), await newId()];
    mergeRoster(db, self, mallory, { members: [member(c, 'C', mallory)], inviteUntil: null }, true);
    mergeRoster(db, self, c, { members: [member(d, 'D', c)], inviteUntil: null }, true);
    expect(confirmPeer(db, d)).toBe(false); // witnessed already: not pending
    expect(isTrusted(db, d)).toBe(true);
    const revoked = revokePeer(db, mallory);
    expect(revoked.sort()).toEqual([mallory, c, d].sort());
    for (const id of [mallory, c, d]) expect(getPeer(db, id)!.state).toBe('revoked');
    expect(getPeer(db, bob)!.state).toBe('trusted');
    // Bob relays an identity Mallory introduced: refused, Mallory is revoked here.
    const r = mergeRoster(db, self, bob, { members: [member(e, 'E', mallory)], inviteUntil: null });
    expect(r.refused[0]!.reason).toMatch(/introducer .* is revoked/);
    expect(getPeer(db, e)).toBeNull();
  });

  it('a person confirms a pending site: trusted, and it no longer counts against the cap', async () => {
    const ids = await Promise.all(Array.from({ length: MAX_INTRODUCTIONS + 1 }, () => newId()));
    mergeRoster(db, self, mallory, { members: ids.slice(0, MAX_INTRODUCTIONS).map((id, i) => member(id, `p${i}`)), inviteUntil: null });
    expect(confirmPeer(db, ids[0]!)).toBe(true);
    expect(isTrusted(db, ids[0]!)).toBe(true);
    const r = mergeRoster(db, self, mallory, { members: [member(ids[MAX_INTRODUCTIONS]!, 'late')], inviteUntil: null });
    expect(r.pending).toHaveLength(1);
  });

  it('rows that do not parse are repaired: dropped (bad id) or cleaned (bad addresses), once', async () => {
    const good = await newId();
    db.prepare("INSERT INTO peers (peer_id, name, addrs, paired_at) VALUES ('1111bogus', 'bogus', '[]', 1)").run();
    db.prepare("INSERT INTO peers (peer_id, name, addrs, paired_at) VALUES (?, 'g', ?, 1)").run(good, JSON.stringify(['/ip4/1.2.3.4/tcp/1', 'garbage']));
    const r = repairPeerRows(db);
    expect(r.dropped).toEqual(['1111bogus']);
    expect(r.addrsDropped).toEqual([{ peerId: good, addrs: ['garbage'] }]);
    expect(getPeer(db, good)!.addrs).toEqual(['/ip4/1.2.3.4/tcp/1']);
    expect(repairPeerRows(db)).toEqual({ dropped: [], addrsDropped: [] });
  });
});

describe('invite windows and invites', () => {
  it('a relay honours another member’s invite window for at most MAX_RELAY_WINDOW_MS', () => {
    const now = 1_000_000;
    expect(relayWindowUntil(now + 100 * 365 * 86_400_000, now)).toBe(now + MAX_RELAY_WINDOW_MS);
    expect(relayWindowUntil(now + 60_000, now)).toBe(now + 60_000);
    expect(relayWindowUntil(now - 1, now)).toBeNull();
    expect(relayWindowUntil(null, now)).toBeNull();
  });

  it('a witnessed window counts only if announced before, and for its grace after it closed', () => {
    const w = new InviteWitness();
    const now = 5_000_000;
    expect(w.witnessed('m', now)).toBe(false);
    w.saw('m', now + 1000, now);
    w.saw('m', null, now + 500); // the roster after the pairing: nothing open any more
    expect(w.witnessed('m', now + 1000 + WITNESS_GRACE_MS)).toBe(true);
    expect(w.witnessed('m', now + 1001 + WITNESS_GRACE_MS)).toBe(false);
  });

  let dir: string;
  let db: Db;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lomo-inv-'));
    db = openCatalog(path.join(dir, 'lomob.db'));
  });
  afterEach(() => {
    db.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('the wrong-proof counter never passes the limit, however many failures arrive', () => {
    createInvite(db, { id: 'aa00000000000000', secret: new Uint8Array(16), label: '', quotaOffered: null, expiresAt: Date.now() + 60_000 });
    const results = Array.from({ length: 20 }, () => recordFailedAttempt(db, 'aa00000000000000'));
    expect(results.slice(0, MAX_FAILED_ATTEMPTS)).toEqual([1, 2, 3, 4, 5]);
    expect(results.slice(MAX_FAILED_ATTEMPTS).every((r) => r === null)).toBe(true);
    expect(getInvite(db, 'aa00000000000000')!.failedAttempts).toBe(MAX_FAILED_ATTEMPTS);
    expect(inviteState(getInvite(db, 'aa00000000000000'))).toBe('burnt');
  });

  it('invites are listed without secrets and can be cancelled (closed, secret erased)', () => {
    const now = Date.now();
    createInvite(db, { id: 'bb00000000000000', secret: new Uint8Array(16).fill(7), label: 'Grandma', quotaOffered: null, expiresAt: now + 60_000 }, now);
    createInvite(db, { id: 'bc00000000000000', secret: new Uint8Array(16), label: '', quotaOffered: null, expiresAt: now - 1 }, now - 10);
    expect(listInvites(db).map((i) => [i.id, i.state])).toEqual([['bb00000000000000', 'open']]);
    expect(JSON.stringify(listInvites(db, { all: true }))).not.toMatch(/secret/);
    expect(findInvites(db, 'b')).toHaveLength(2);
    expect(findInvites(db, 'bb')).toEqual(['bb00000000000000']);
    expect(cancelInvite(db, 'bb00000000000000')).toBe(true);
    expect(cancelInvite(db, 'bb00000000000000')).toBe(false);
    expect(inviteState(getInvite(db, 'bb00000000000000'))).toBe('cancelled');
    expect(getInvite(db, 'bb00000000000000')!.secret).toBeNull();
    expect(openInviteUntil(db)).toBeNull();
  });
});
