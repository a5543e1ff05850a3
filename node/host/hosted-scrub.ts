import type { PeerStore } from '../../storage/peerstore/store.js';
import { scrubHosted, SCRUB_EVERY_MS } from '../../storage/peerstore/scrub.js';

/** What the scrub did since the node started (`status --json`, `hosted.scrub`). */
export interface ScrubStats {
  /** Chunks re-hashed and found intact. */
  chunksChecked: number;
  bytesChecked: number;
  /** Chunks found not to match their hash, quarantined. */
  corruptFound: number;
  /** End of the last batch (ms); null: none ran yet. */
  lastRunAt: number | null;
}

interface Log {
  warn(msg: string): void;
  debug(msg: string): void;
}

/**
 * The node's side of the holder scrub (storage/peerstore/scrub.ts): one budgeted batch per
 * maintenance round, never two at once, never awaited by the round; every bad chunk is logged as
 * a warning and counted.
 */
export class HostedScrub {
  private running: Promise<void> | null = null;
  private stopped = false;
  private readonly totals: ScrubStats = { chunksChecked: 0, bytesChecked: 0, corruptFound: 0, lastRunAt: null };

  constructor(
    private readonly store: PeerStore,
    private readonly opts: { everyMs?: number; log: Log },
  ) {}

  /** Starts a batch unless one runs. */
  kick(): void {
    if (this.stopped || this.running) return;
    this.running = this.batch().finally(() => (this.running = null));
  }

  stats(): ScrubStats {
    return { ...this.totals };
  }

  /** Lets a running batch finish (it touches the catalog), then starts no more. */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.running;
  }

  private async batch(): Promise<void> {
    try {
      const r = await scrubHosted(this.store, { everyMs: this.opts.everyMs ?? SCRUB_EVERY_MS });
      this.totals.chunksChecked += r.checked;
      this.totals.bytesChecked += r.bytes - r.corrupt.reduce((n, c) => n + c.size, 0);
      this.totals.corruptFound += r.corrupt.length;
      this.totals.lastRunAt = Date.now();
      for (const c of r.corrupt) {
        this.opts.log.warn(`hosted chunk ${c.sha256} of ${c.owner} no longer matches its hash: quarantined, not served; its owner is told on its next get`);
      }
      if (r.checked > 0 || r.gone > 0) this.opts.log.debug(`scrub: ${r.checked} hosted chunk(s) intact, ${r.gone} gone${r.more ? ', more due' : ''}`);
    } catch (err) {
      if (!this.stopped) this.opts.log.warn(`scrub of hosted chunks failed: ${(err as Error).message}`);
    }
  }
}
