import { randomBytes } from 'node:crypto';
import type { Connection, Stream } from '@libp2p/interface';
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr';
import { createInvite } from '../../storage/trust/invites.js';
import { FramedStream, ProtocolViolation } from '../framing.js';
import { asError, DIAL_TIMEOUT_MS, ProtocolService, type ServiceComponents } from '../service.js';
import { encodeInviteCode, INVITE_ID_BYTES, SECRET_BYTES, type InviteCode } from './code.js';
import { MAX_INVITE_MS, MAX_PAIR_FRAME, PAIR_SPEC, PAIR_STEP_TIMEOUT_MS } from './constants.js';
import { closedByInviter, looksClosed, PairingError } from './errors.js';
import { answerJoiner, type InviterEnv } from './inviter.js';
import { proveToInviter, type JoinOptions, type JoinResult } from './joiner.js';

/** What the pairing service needs from the running node. */
export interface PairingEnv extends InviterEnv {
  /** Connects to a peer at the given addresses (the node's dialer, with its address book). */
  dial(peerId: string, addrs: Multiaddr[]): Promise<Connection>;
  /**
   * Does this site have an invite of its own open? A stranger admitted for another reason (a
   * relay window: it may only use the relay hop) gets no pairing exchange here.
   */
  acceptsJoiners(): boolean;
}

export interface InviteRequest {
  expiresMs: number;
  /** Bytes this site offers the newcomer; null: not set. */
  quota: number | null;
  /** This site's label for the newcomer ('' : the name it announces). */
  label: string;
  /** Addresses the joiner may dial, routable first (at most 16 go into the code). */
  addrs: string[];
}

/** The /lomo/pair service: answers joiners (inviter side), issues invites, joins (joiner side). */
export class Pairing extends ProtocolService {
  constructor(
    private readonly env: PairingEnv,
    components: ServiceComponents,
  ) {
    super(PAIR_SPEC, components);
  }

  protected async handleStream(stream: Stream, connection: Connection): Promise<void> {
    if (!this.env.acceptsJoiners()) {
      throw new ProtocolViolation('pairing while this site has no open invitation');
    }
    const fs = new FramedStream(stream, { maxFrame: MAX_PAIR_FRAME, readTimeoutMs: PAIR_STEP_TIMEOUT_MS });
    await answerJoiner(this.env, this.components.log, fs, connection.remotePeer.toString());
  }

  /**
   * Registers a new single-use invite in the catalog and returns its code. The row is written
   * only once the code exists: a failure before that leaves no invite open.
   */
  createInvite(req: InviteRequest): { code: string; expiresAt: number; id: string } {
    if (!(req.expiresMs > 0 && req.expiresMs <= MAX_INVITE_MS)) throw new RangeError(`an invite lasts at most ${MAX_INVITE_MS / 86_400_000} days`);
    const inviteId = new Uint8Array(randomBytes(INVITE_ID_BYTES));
    const secret = new Uint8Array(randomBytes(SECRET_BYTES));
    // Whole seconds: the code stores seconds, and both sides must agree on the expiry.
    const expiresAt = Math.floor((Date.now() + req.expiresMs) / 1000) * 1000;
    const code = encodeInviteCode({ inviterPeerId: this.env.selfPeerId, addrs: req.addrs.map((a) => multiaddr(a)), inviteId, secret, expiresAt });
    const id = Buffer.from(inviteId).toString('hex');
    createInvite(this.env.db, { id, secret, label: req.label, quotaOffered: req.quota, expiresAt });
    return { code, expiresAt, id };
  }

  /** Joiner side: runs the whole exchange and stores the inviter and the family as trusted. */
  async join(code: InviteCode, opts: JoinOptions = {}): Promise<JoinResult> {
    if (code.inviterPeerId === this.env.selfPeerId) throw new PairingError('bad-request', 'this invitation was made by this very site; use it on the other household');
    let connection: Connection;
    let stream: Stream;
    try {
      connection = await this.env.dial(code.inviterPeerId, code.addrs);
      stream = await connection.newStream(this.protocol, { signal: AbortSignal.timeout(DIAL_TIMEOUT_MS), runOnLimitedConnection: true });
    } catch (thrown) {
      const err = asError(thrown);
      throw looksClosed(err) ? closedByInviter() : err;
    }
    if (connection.remotePeer.toString() !== code.inviterPeerId) {
      stream.abort(new Error('wrong peer'));
      throw new PairingError('impostor', 'connected to a different site than the one that made the code');
    }
    const fs = new FramedStream(stream, { maxFrame: MAX_PAIR_FRAME, readTimeoutMs: PAIR_STEP_TIMEOUT_MS });
    let answered = false;
    try {
      return await proveToInviter(this.env, fs, code, opts, () => {
        answered = true;
      });
    } catch (thrown) {
      const err = asError(thrown);
      fs.abort(err);
      if (err instanceof PairingError) throw err;
      if (!answered && looksClosed(err)) throw closedByInviter();
      throw new PairingError('protocol', `pairing failed: ${err.message}`);
    }
  }
}
