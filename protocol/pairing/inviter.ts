import { randomBytes } from 'node:crypto';
import type { Db } from '../../storage/catalog/db.js';
import { consumeInvite, getInvite, inviteState, MAX_FAILED_ATTEMPTS, recordFailedAttempt, type InviteState } from '../../storage/trust/invites.js';
import { getPeer, savePairedPeer, type PeerRow } from '../../storage/trust/peers.js';
import { recordPaired } from '../../storage/trust/members.js';
import type { LocalLogKeys } from '../../storage/sitelog/store.js';
import { type FramedStream, ProtocolViolation } from '../framing.js';
import type { ServiceLog } from '../service.js';
import { encodePairMessage, expectPair, type Member, type PairErrorCode } from './messages.js';
import { checkProof, makeProof, NONCE_BYTES, type Transcript } from './proof.js';

/** What the inviter's side needs from the running node. */
export interface InviterEnv {
  db: Db;
  selfPeerId: string;
  /** This site's name and current dialable addresses. */
  selfInfo(): { name: string; addrs: string[] };
  /** The family as this site knows it (trusted peers), for the newcomer. */
  members(): Member[];
  /** Called once the newcomer is stored as trusted (roster push, invite window update). */
  onPaired(peer: PeerRow): void;
  /** The keys this site signs its log with: a pairing is recorded as a signed membership entry. */
  logKeys(): LocalLogKeys;
}

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

const REFUSALS: Record<Exclude<InviteState, 'open'>, [PairErrorCode, string]> = {
  cancelled: ['expired', 'this invitation was cancelled by the inviting site; ask for a new one'],
  unknown: ['unknown-invite', 'this site issued no such invitation (it may belong to another site, or its catalog was replaced)'],
  used: ['used', 'this invitation was already used; ask for a new one'],
  expired: ['expired', 'this invitation has expired; ask for a new one'],
  burnt: ['expired', 'this invitation was disabled after too many wrong attempts; ask for a new one'],
};

/**
 * Inviter side of one /lomo/pair stream from `remote` (its Noise-authenticated peer id). A
 * refusal is an error message to the joiner; a broken protocol throws (the service's guard resets
 * the stream and logs it).
 */
export async function answerJoiner(env: InviterEnv, log: ServiceLog, fs: FramedStream, remote: string): Promise<void> {
  const refuse = async (code: PairErrorCode, message: string) => {
    log.warn(`pairing with ${remote} refused: ${message}`);
    await fs.write(encodePairMessage({ t: 'error', code, message }));
    await fs.close();
  };
  const hello = expectPair(await fs.readRequired('hello'), 'hello');
  if (hello.t !== 'hello') throw new ProtocolViolation('a joiner must start with hello');
  const inviteId = hex(hello.invite);
  const invite = getInvite(env.db, inviteId);
  const state = inviteState(invite);
  if (state !== 'open') {
    const [code, message] = REFUSALS[state];
    return await refuse(code, message);
  }
  const secret = invite!.secret!;
  const inviterNonce = new Uint8Array(randomBytes(NONCE_BYTES));
  await fs.write(encodePairMessage({ t: 'challenge', nonce: inviterNonce }));

  const prove = expectPair(await fs.readRequired('proof'), 'prove');
  if (prove.t !== 'prove') throw new ProtocolViolation('a joiner does not send errors');
  const t: Transcript = { inviteId: hello.invite, inviterPeerId: env.selfPeerId, joinerPeerId: remote, joinerNonce: hello.nonce, inviterNonce };
  // Look again now, with no await between this look, the check and the count: many joiners may
  // have been waiting at this step at once, and the invite may have been used, cancelled or burnt
  // meanwhile. So at most MAX_FAILED_ATTEMPTS proofs are ever checked against one secret.
  const now = inviteState(getInvite(env.db, inviteId));
  if (now !== 'open') {
    const [code, message] = REFUSALS[now];
    return await refuse(code, message);
  }
  if (!checkProof(secret, 'joiner', t, prove.proof)) {
    const failures = recordFailedAttempt(env.db, inviteId);
    const left = failures === null ? 0 : MAX_FAILED_ATTEMPTS - failures;
    return await refuse('wrong-proof', `the joiner does not know this invitation secret (${left} attempt${left === 1 ? '' : 's'} left)`);
  }
  const stored = env.db.transaction(() => {
    if (!consumeInvite(env.db, inviteId, remote)) return false;
    savePairedPeer(env.db, {
      peerId: remote,
      name: invite!.label || prove.site.name || remote.slice(-8),
      siteName: prove.site.name,
      addrs: prove.site.addrs,
      quotaOffered: invite!.quotaOffered,
      quotaGranted: prove.site.quota,
      introducedBy: null,
    });
    // The signed record every other member checks this admission against (docs/pairing.md).
    recordPaired(env.db, env.logKeys(), { siteId: remote, inviteId, name: invite!.label || prove.site.name });
    return true;
  })();
  if (!stored) return await refuse('used', 'this invitation was already used; ask for a new one');

  const self = env.selfInfo();
  const members = env.members().filter((m) => m.peerId !== remote);
  await fs.write(
    encodePairMessage({
      t: 'welcome',
      proof: makeProof(secret, 'inviter', t),
      site: { name: self.name, addrs: self.addrs, quota: invite!.quotaOffered },
      members,
    }),
  );
  // The ack tells us the joiner verified our proof and stored us; without it we keep the peer
  // anyway (it proved the secret), and its first connection will confirm.
  try {
    const ack = expectPair(await fs.readRequired('ack'), 'ack');
    if (ack.t !== 'ack') log.warn(`joiner ${remote} reported: ${ack.message}`);
  } catch (err) {
    log.warn(`no acknowledgement from joiner ${remote}: ${(err as Error).message}`);
  }
  log.info(`paired with ${prove.site.name || remote} (${remote})`);
  env.onPaired(getPeer(env.db, remote)!);
  await fs.close();
}
