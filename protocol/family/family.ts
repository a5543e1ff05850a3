import type { Connection, Stream } from '@libp2p/interface';
import type { Db } from '../../storage/catalog/db.js';
import { openInviteUntil } from '../../storage/trust/invites.js';
import { listPeers } from '../../storage/trust/peers.js';
import { FramedStream } from '../framing.js';
import type { Member } from '../pairing/messages.js';
import { ProtocolService, type ServiceComponents } from '../service.js';
import { MAX_MEMBER_ADDRS, MAX_ROSTER_FRAME, ROSTER_SPEC, STEP_TIMEOUT_MS } from './constants.js';
import { decodeRoster, encodeRoster, mergeRoster, type MergeResult, type Roster } from './roster.js';
import { InviteWitness } from './invite-window.js';

/** What the family service needs from the running node. */
export interface FamilyEnv {
  db: Db;
  selfPeerId: string;
  /** This site's name and current shareable addresses. */
  selfInfo(): { name: string; addrs: string[] };
  /** A trusted peer's roster arrived (after it was merged into the catalog). */
  onRoster(from: string, roster: Roster, result: MergeResult): void;
}

/** The /lomo/family service: answers roster exchanges and starts them (sync). */
export class Family extends ProtocolService {
  constructor(
    private readonly env: FamilyEnv,
    components: ServiceComponents,
  ) {
    super(ROSTER_SPEC, components);
  }

  /** Open invites members announced to this site (decides which introductions were witnessed). */
  readonly witness = new InviteWitness();

  /**
   * Our roster: ourselves first (fresh addresses), then every trusted peer with its original
   * introducer (ourselves for the sites we paired with). Pending sites are never passed on.
   */
  roster(): Roster {
    const self = this.env.selfInfo();
    const members: Member[] = [{ peerId: this.env.selfPeerId, name: self.name, addrs: self.addrs.slice(0, MAX_MEMBER_ADDRS) }];
    for (const p of listPeers(this.env.db)) {
      members.push({ peerId: p.peerId, name: p.siteName || p.name, addrs: p.addrs.slice(0, MAX_MEMBER_ADDRS), introducedBy: p.introducedBy ?? this.env.selfPeerId });
    }
    return { members, inviteUntil: openInviteUntil(this.env.db) };
  }

  /** Responder (a trusted peer: the service is registered family-only). */
  protected async handleStream(stream: Stream, connection: Connection): Promise<void> {
    const from = connection.remotePeer.toString();
    const fs = new FramedStream(stream, { maxFrame: MAX_ROSTER_FRAME, readTimeoutMs: STEP_TIMEOUT_MS });
    const theirs = decodeRoster(await fs.readRequired('roster'));
    await fs.write(encodeRoster(this.roster()));
    await fs.close();
    this.merge(from, theirs);
  }

  /** Initiator: sends ours, merges theirs; returns the sites that were new to us. */
  async sync(peerId: string): Promise<Member[]> {
    const stream = await this.openStream(peerId);
    const fs = new FramedStream(stream, { maxFrame: MAX_ROSTER_FRAME, readTimeoutMs: STEP_TIMEOUT_MS });
    let theirs: Roster;
    try {
      await fs.write(encodeRoster(this.roster()));
      theirs = decodeRoster(await fs.readRequired('roster'));
      await fs.close();
    } catch (err) {
      fs.abort(err as Error);
      throw err;
    }
    // Revoked while the exchange ran: what it says no longer counts.
    if (!this.components.trust.trusted(peerId)) return [];
    return this.merge(peerId, theirs);
  }

  private merge(from: string, roster: Roster): Member[] {
    // Witnessed means announced in an EARLIER roster: a roster that opens a window and introduces
    // at once proves nothing more than the introduction alone.
    const witnessed = this.witness.witnessed(from);
    const result = mergeRoster(this.env.db, this.env.selfPeerId, from, roster, witnessed);
    this.witness.saw(from, roster.inviteUntil);
    this.env.onRoster(from, roster, result);
    return result.added;
  }
}
