import { randomBytes } from 'node:crypto';
import type { Db } from '../../storage/catalog/db.js';
import { getPeer, savePairedPeer, type PeerRow } from '../../storage/trust/peers.js';
import { introducePeer } from '../../storage/trust/introductions.js';
import { recordPaired } from '../../storage/trust/members.js';
import type { LocalLogKeys } from '../../storage/sitelog/store.js';
import type { FramedStream } from '../framing.js';
import type { InviteCode } from './code.js';
import { encodePairMessage, expectPair, type Member, type SiteInfo } from './messages.js';
import { checkProof, makeProof, NONCE_BYTES, type Transcript } from './proof.js';
import { PairingError } from './errors.js';

/** What the joiner's side needs. */
export interface JoinerEnv {
  db: Db;
  selfPeerId: string;
  selfInfo(): { name: string; addrs: string[] };
  /** The keys this site signs its log with: the pairing is recorded as a signed membership entry. */
  logKeys(): LocalLogKeys;
}

export interface JoinOptions {
  /** Our label for the inviter (default: the name it announces). */
  name?: string;
  /** Bytes we offer to store for the inviter (default: not set). */
  quota?: number | null;
}

export interface JoinResult {
  inviter: PeerRow;
  /** Family members the inviter introduced (stored as trusted). */
  introduced: Member[];
}

/**
 * Joiner side of the exchange on an open /lomo/pair stream to the code's inviter (whose peer id
 * the caller checked against the connection). Stores the inviter and the family as trusted only
 * after the inviter's proof verified. `onAnswer` is called once the inviter answered at all.
 */
export async function proveToInviter(env: JoinerEnv, fs: FramedStream, code: InviteCode, opts: JoinOptions, onAnswer: () => void): Promise<JoinResult> {
  const joinerNonce = new Uint8Array(randomBytes(NONCE_BYTES));
  await fs.write(encodePairMessage({ t: 'hello', invite: code.inviteId, nonce: joinerNonce }));
  const challenge = expectPair(await fs.readRequired('challenge'), 'challenge');
  onAnswer();
  if (challenge.t === 'error') throw new PairingError(challenge.code, challenge.message);
  const t: Transcript = {
    inviteId: code.inviteId,
    inviterPeerId: code.inviterPeerId,
    joinerPeerId: env.selfPeerId,
    joinerNonce,
    inviterNonce: challenge.nonce,
  };
  const self = env.selfInfo();
  const site: SiteInfo = { name: self.name, addrs: self.addrs, quota: opts.quota ?? null };
  await fs.write(encodePairMessage({ t: 'prove', proof: makeProof(code.secret, 'joiner', t), site }));
  const welcome = expectPair(await fs.readRequired('welcome'), 'welcome');
  if (welcome.t === 'error') throw new PairingError(welcome.code, welcome.message);
  if (!checkProof(code.secret, 'inviter', t, welcome.proof)) {
    throw new PairingError('impostor', 'the other side could not prove it issued this invitation; nothing was stored');
  }
  const members = welcome.members.filter((m) => m.peerId !== env.selfPeerId && m.peerId !== code.inviterPeerId);
  const introduced: Member[] = [];
  env.db.transaction(() => {
    savePairedPeer(env.db, {
      peerId: code.inviterPeerId,
      name: opts.name || welcome.site.name || code.inviterPeerId.slice(-8),
      siteName: welcome.site.name,
      addrs: welcome.site.addrs.length > 0 ? welcome.site.addrs : code.addrs.map((a) => a.toString()),
      quotaOffered: opts.quota ?? null,
      quotaGranted: welcome.site.quota,
      introducedBy: null,
    });
    recordPaired(env.db, env.logKeys(), {
      siteId: code.inviterPeerId,
      inviteId: Buffer.from(code.inviteId).toString('hex'),
      name: opts.name || welcome.site.name,
    });
    // This site's person pasted the inviter's code: the family it lists is the one being joined
    // ('pairing'), under the same rules as any introduction (names, revoked introducers).
    for (const m of members) {
      const introducedBy = m.introducedBy && m.introducedBy !== env.selfPeerId ? m.introducedBy : code.inviterPeerId;
      const r = introducePeer(env.db, { peerId: m.peerId, name: m.name, addrs: m.addrs, introducedBy, relayedBy: code.inviterPeerId, confirmation: 'pairing' });
      if (r.kind !== 'refused') introduced.push(m);
    }
  })();
  await fs.write(encodePairMessage({ t: 'ack' }));
  await fs.close();
  return { inviter: getPeer(env.db, code.inviterPeerId)!, introduced };
}
