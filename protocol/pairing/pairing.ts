import { randomBytes } from 'node:crypto';
import type { Connection, Stream } from '@libp2p/interface';
import type { Db } from '../../storage/catalog/db.js';
import { FramedStream, ProtocolViolation } from '../framing.js';
import { consumeInvite, getInvite, inviteState, recordFailedAttempt } from '../../storage/trust/invites.js';
import { getPeer, savePairedPeer, saveIntroducedPeer, type PeerRow } from '../../storage/trust/peers.js';
import type { InviteCode } from './code.js';
import { encodePairMessage, expectPair, MAX_PAIR_FRAME, type Member, type PairErrorCode, type SiteInfo } from './messages.js';
import { checkProof, makeProof, NONCE_BYTES, type Transcript } from './proof.js';

/** The pairing protocol: a joiner proves it holds an invite code, the inviter proves it issued it. */
export const PAIR_PROTOCOL = '/lomo/pair/1.0.0';
/** Each step of a pairing must arrive within this time. */
export const PAIR_STEP_TIMEOUT_MS = 15_000;

export interface PairingLog {
  info(msg: string): void;
  warn(msg: string): void;
}

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
  log: PairingLog;
}

/** The pairing was refused or failed; `code` says why (maps to a user message and exit code). */
export class PairingError extends Error {
  override name = 'PairingError';
  constructor(
    readonly code: PairErrorCode | 'impostor' | 'protocol' | 'refused',
    message: string,
  ) {
    super(message);
  }
}

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

const REFUSALS: Record<'unknown' | 'used' | 'expired' | 'burnt', [PairErrorCode, string]> = {
  unknown: ['unknown-invite', 'this site issued no such invitation (it may belong to another site, or its catalog was replaced)'],
  used: ['used', 'this invitation was already used; ask for a new one'],
  expired: ['expired', 'this invitation has expired; ask for a new one'],
  burnt: ['expired', 'this invitation was disabled after too many wrong attempts; ask for a new one'],
};

/** Inviter side: one handler call per incoming /lomo/pair stream. Never throws. */
export async function handlePairStream(env: InviterEnv, stream: Stream, connection: Connection): Promise<void> {
  const remote = connection.remotePeer.toString();
  const fs = new FramedStream(stream, { maxFrame: MAX_PAIR_FRAME, readTimeoutMs: PAIR_STEP_TIMEOUT_MS });
  const refuse = async (code: PairErrorCode, message: string) => {
    env.log.warn(`pairing with ${remote} refused: ${message}`);
    await fs.write(encodePairMessage({ t: 'error', code, message }));
    await fs.close();
  };
  try {
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
    if (!checkProof(secret, 'joiner', t, prove.proof)) {
      recordFailedAttempt(env.db, inviteId);
      return await refuse('wrong-proof', 'the joiner does not know this invitation secret');
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
      if (ack.t !== 'ack') env.log.warn(`joiner ${remote} reported: ${ack.message}`);
    } catch (err) {
      env.log.warn(`no acknowledgement from joiner ${remote}: ${(err as Error).message}`);
    }
    env.log.info(`paired with ${prove.site.name || remote} (${remote})`);
    env.onPaired(getPeer(env.db, remote)!);
    await fs.close();
  } catch (err) {
    env.log.warn(`pairing stream from ${remote} reset: ${(err as Error).message}`);
    fs.abort(err as Error);
  }
}

/** What the joiner's side needs. */
export interface JoinerEnv {
  db: Db;
  selfPeerId: string;
  selfInfo(): { name: string; addrs: string[] };
  /** Opens a /lomo/pair stream to the inviter at the code's addresses. */
  openPairStream(code: InviteCode): Promise<{ stream: Stream; connection: Connection }>;
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

/** Joiner side: runs the whole exchange and stores the inviter and the family as trusted. */
export async function joinWithCode(env: JoinerEnv, code: InviteCode, opts: JoinOptions = {}): Promise<JoinResult> {
  if (code.inviterPeerId === env.selfPeerId) throw new PairingError('bad-request', 'this invitation was made by this very site; use it on the other household');
  const { stream, connection } = await env.openPairStream(code);
  if (connection.remotePeer.toString() !== code.inviterPeerId) {
    stream.abort(new Error('wrong peer'));
    throw new PairingError('impostor', 'connected to a different site than the one that made the code');
  }
  const fs = new FramedStream(stream, { maxFrame: MAX_PAIR_FRAME, readTimeoutMs: PAIR_STEP_TIMEOUT_MS });
  let answered = false;
  try {
    const joinerNonce = new Uint8Array(randomBytes(NONCE_BYTES));
    await fs.write(encodePairMessage({ t: 'hello', invite: code.inviteId, nonce: joinerNonce }));
    const challenge = expectPair(await fs.readRequired('challenge'), 'challenge');
    answered = true;
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
      fs.abort(new Error('inviter proof failed'));
      throw new PairingError('impostor', 'the other side could not prove it issued this invitation; nothing was stored');
    }
    const introduced = welcome.members.filter((m) => m.peerId !== env.selfPeerId && m.peerId !== code.inviterPeerId);
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
      for (const m of introduced) {
        saveIntroducedPeer(env.db, { peerId: m.peerId, name: m.name, siteName: m.name, addrs: m.addrs, quotaOffered: null, quotaGranted: null, introducedBy: code.inviterPeerId });
      }
    })();
    await fs.write(encodePairMessage({ t: 'ack' }));
    await fs.close();
    return { inviter: getPeer(env.db, code.inviterPeerId)!, introduced };
  } catch (thrown) {
    const err = asError(thrown);
    fs.abort(err);
    if (err instanceof PairingError) throw err;
    if (!answered && looksClosed(err)) throw closedByInviter();
    throw new PairingError('protocol', `pairing failed: ${err.message}`);
  }
}

/** Stream helpers reject with a bare 'close' Event when the remote closes; make it an Error. */
export function asError(x: unknown): Error {
  if (x instanceof Error) return x;
  if (x && typeof x === 'object' && 'type' in x) return new Error(`stream ${(x as Event).type}d by the remote side`);
  return new Error(String(x));
}

export function looksClosed(err: Error): boolean {
  const text = `${err.name} ${err.message}`;
  return /EOF|closed|reset|MuxerClosed|EncryptionFailed|StreamState/i.test(text) && !/ECONNREFUSED|EHOSTUNREACH|ENETUNREACH|timed? ?out|abort/i.test(text);
}

/**
 * The inviter's gater closes connections from unknown peers when it has no open invite, so a
 * joiner sees the connection end right after the handshake (an EOF, never a "denied" message).
 */
export function closedByInviter(): PairingError {
  return new PairingError(
    'refused',
    'the inviting site closed the connection: it has no open invitation for this code (already used or expired), or this site was revoked there; ask for a new code',
  );
}
