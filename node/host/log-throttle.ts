/**
 * Repeated warnings about the same peer, throttled: a stranger that opens a thousand streams
 * must not write a thousand log lines (issue 13). A line that names a peer id is keyed by its
 * text with the numbers taken out ("log sync with <peer> reset: ... entry #: bad signature"), so
 * each kind of trouble from one peer is logged once per window, and a different kind still is. Within WINDOW_MS of a logged
 * line, lines of the same key are counted, not written; the next one written after the window
 * says how many were suppressed. Lines that name no peer pass through.
 */
export const LOG_THROTTLE_WINDOW_MS = 60_000;
/** Keys remembered at most (the oldest are forgotten first): bounded memory under a flood. */
export const LOG_THROTTLE_MAX_KEYS = 1024;

const PEER_ID = /\b(?:12D3KooW|16Uiu2|Qm)[1-9A-HJ-NP-Za-km-z]{30,}/;

export class LogThrottle {
  private readonly seen = new Map<string, { at: number; suppressed: number }>();

  constructor(
    private readonly windowMs = LOG_THROTTLE_WINDOW_MS,
    private readonly maxKeys = LOG_THROTTLE_MAX_KEYS,
  ) {}

  /** The line to write for `msg` now, or null to stay silent. */
  filter(msg: string, now = Date.now()): string | null {
    const m = PEER_ID.exec(msg);
    if (!m) return msg;
    // Peer ids are base58 and may hold digits: key on the text outside them, numbers masked.
    const key = msg.split(m[0]).map((part) => part.replace(/\d+/g, '#')).join(m[0]);
    const entry = this.seen.get(key);
    if (entry && now - entry.at < this.windowMs) {
      entry.suppressed++;
      return null;
    }
    const suppressed = entry?.suppressed ?? 0;
    this.seen.delete(key); // re-inserted last: the map stays ordered by last write
    this.seen.set(key, { at: now, suppressed: 0 });
    if (this.seen.size > this.maxKeys) this.seen.delete(this.seen.keys().next().value!);
    return suppressed > 0 ? `${msg} (${suppressed} similar lines suppressed)` : msg;
  }
}

/** A logger whose info and warn lines go through one LogThrottle. */
export function throttledLog<L extends { info(msg: string): void; warn(msg: string): void }>(base: L, throttle = new LogThrottle()): L {
  return {
    ...base,
    info: (msg: string) => {
      const line = throttle.filter(msg);
      if (line !== null) base.info(line);
    },
    warn: (msg: string) => {
      const line = throttle.filter(msg);
      if (line !== null) base.warn(line);
    },
  };
}
