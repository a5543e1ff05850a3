import type { PeerId } from '@libp2p/interface';
import { peerIdFromString } from '@libp2p/peer-id';
import type { Db } from '../../storage/catalog/db.js';
import { isTrusted } from '../../storage/trust/peers.js';
import { log } from '../log.js';
import type { Host } from './host.js';
import { askReservation, limitedOnly, replaceLimited } from './relay-client.js';

/**
 * Keeping this node reachable through a family relay (docs/network.md): relayed connections that
 * the relay still limits are replaced once it knows us as family, a reservation refused to us as a
 * stranger is asked for again, and a reservation that never came is asked for after a grace period.
 * The node calls these from its maintenance round and when a roster arrives.
 */

export const RELAY_HOP_PROTOCOL = '/libp2p/circuit/relay/0.2.0/hop';
/** How long a node connected to a family relay waits for its reservation before asking again. */
const RELAY_GRACE_MS = 10_000;

export interface RelayUpkeepParts {
  host: Host;
  db: Db;
  /** This node uses family relays (NodeOptions.relayClient). */
  relayClient: boolean;
  addrs(): string[];
  dialTimeoutMs: number;
  /** A limited connection to this trusted peer was replaced by an unlimited one. */
  onUnlimited(peerId: string): void;
}

export class RelayUpkeep {
  private stuckSince: number | null = null;
  /** Peers whose limited connection is being replaced now. */
  private readonly replacing = new Set<string>();

  constructor(private readonly d: RelayUpkeepParts) {}

  /**
   * A trusted peer reached only over limited relayed connections this node opened (it paired
   * through the relay as a stranger): dial it again through the relay; once the relay knows us
   * as family the new connection is unlimited and replaces the limited one, then rosters are
   * exchanged over it (libp2p would not open the roster stream on the limited one).
   */
  async replaceLimitedConnections(): Promise<void> {
    for (const peer of this.d.host.getPeers()) {
      const id = peer.toString();
      if (this.replacing.has(id) || !isTrusted(this.d.db, id)) continue;
      const limited = limitedOnly(this.d.host, peer)[0];
      if (!limited) continue;
      this.replacing.add(id);
      try {
        const fresh = await replaceLimited(this.d.host, limited, AbortSignal.timeout(this.d.dialTimeoutMs));
        if (fresh) {
          log.info(`replaced the limited relayed connection to ${id} by an unlimited one`);
          this.d.onUnlimited(id);
        } else log.debug(`relayed connection to ${id} still limited by the relay: retrying later`);
      } catch (err) {
        log.debug(`replacing the limited connection to ${id} failed: ${(err as Error).message}`);
      } finally {
        this.replacing.delete(id);
      }
    }
  }

  /** Asks a connected family relay without our reservation for one (it may have refused us as a stranger). */
  async reserveOn(relayId: string): Promise<void> {
    if (!this.d.relayClient || this.d.addrs().some((a) => a.includes('/p2p-circuit'))) return;
    try {
      const pid = peerIdFromString(relayId);
      if (!this.d.host.getConnections(pid).some((c) => c.limits == null && !c.remoteAddr.toString().includes('/p2p-circuit'))) return;
      const known = await this.d.host.peerStore.get(pid).catch(() => null);
      if (!known?.protocols.includes(RELAY_HOP_PROTOCOL)) return;
      await askReservation(this.d.host, pid, AbortSignal.timeout(this.d.dialTimeoutMs));
    } catch (err) {
      log.debug(`relay reservation on ${relayId} failed: ${(err as Error).message}`);
    }
  }

  /**
   * The relay transport reserves a slot when identify reports a HOP-capable peer; if that moment
   * was missed (seen once in tests under load), no circuit address ever appears. After a grace
   * period, reconnecting to the family relay makes identify run again.
   */
  async kickIfStuck(): Promise<void> {
    if (!this.d.relayClient || this.d.addrs().some((a) => a.includes('/p2p-circuit'))) {
      this.stuckSince = null;
      return;
    }
    const relays: PeerId[] = [];
    for (const peer of this.d.host.getPeers()) {
      if (!isTrusted(this.d.db, peer.toString())) continue;
      const known = await this.d.host.peerStore.get(peer).catch(() => null);
      if (known?.protocols.includes(RELAY_HOP_PROTOCOL)) relays.push(peer);
    }
    if (relays.length === 0) {
      this.stuckSince = null;
      return;
    }
    this.stuckSince ??= Date.now();
    if (Date.now() - this.stuckSince < RELAY_GRACE_MS) return;
    this.stuckSince = null;
    // Ask again on the same connection: closing it would also cut every relayed connection
    // riding on it (a household that joined through this relay). Reconnect only when the
    // transport's internals are not there to ask.
    const asked = await askReservation(this.d.host, relays[0]!, AbortSignal.timeout(this.d.dialTimeoutMs)).catch((err) => {
      log.debug(`relay reservation on ${relays[0]!.toString()} failed: ${(err as Error).message}`);
      return true;
    });
    if (asked) return;
    log.info(`no relay reservation yet: reconnecting to family relay ${relays[0]!.toString()}`);
    for (const c of this.d.host.getConnections(relays[0]!)) await c.close().catch(() => c.abort(new Error('relay kick')));
  }
}
