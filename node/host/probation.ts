import type { Connection } from '@libp2p/interface';
import type { Admission } from './admission.js';
import type { InboundLimiter } from './inbound-limit.js';

/**
 * Probation: an unknown peer admitted while a pairing may be under way (node/host/admission.ts)
 * gets `probationMs` to pair, then its connection is closed. Closing alone invited an immediate
 * reconnect and a fresh probation, for ever; so the end of a probation also starts a cooldown
 * (COOLDOWN_FACTOR x probation) during which that peer id is refused after Noise and, for a
 * direct connection, its address before Noise (family addresses excepted, see inbound-limit.ts).
 * An honest joiner pairs in about a second and never reaches the end of a probation.
 */
export const COOLDOWN_FACTOR = 2;

export interface ProbationOptions {
  probationMs: number;
  admission: Admission;
  limiter: InboundLimiter;
  trusted: (peerId: string) => boolean;
  log: { info(msg: string): void };
}

export class Probation {
  private readonly timers = new Map<string, NodeJS.Timeout>();

  constructor(private readonly opts: ProbationOptions) {}

  get cooldownMs(): number {
    return this.opts.probationMs * COOLDOWN_FACTOR;
  }

  /** Called for every new connection: starts the clock of a peer that is not trusted. */
  watch(conn: Connection): void {
    const id = conn.remotePeer.toString();
    if (this.opts.trusted(id) || this.timers.has(conn.id)) return;
    const t = setTimeout(() => {
      this.timers.delete(conn.id);
      if (this.opts.trusted(id) || conn.status !== 'open') return;
      const until = Date.now() + this.cooldownMs;
      this.opts.admission.coolDown(id, until);
      // A relayed connection's address is the relay's: never cool a relay down.
      if (!conn.remoteAddr.toString().includes('/p2p-circuit')) this.opts.limiter.coolDown(conn.remoteAddr, until);
      this.opts.log.info(`closing probation connection of ${id}: no pairing completed (refused for ${Math.round(this.cooldownMs / 1000)} s)`);
      void conn.close().catch(() => conn.abort(new Error('probation over')));
    }, this.opts.probationMs);
    t.unref();
    this.timers.set(conn.id, t);
  }

  stop(): void {
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
  }
}
