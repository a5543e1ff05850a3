import net from 'node:net';

/**
 * The "stalled handshake" attacker of issue 13: plain TCP sockets to a node that never send a
 * byte, each reopened shortly after the node closes it, so the node always has as many
 * half-open connections from this address as it lets it keep. Used by the inbound tests and the
 * inbound benchmark.
 */
export interface IdleSockets {
  /** Sockets currently open. */
  open(): number;
  /** Connections opened so far (first ones and reopenings). */
  opened(): number;
  stop(): void;
}

export function holdIdleSockets(opts: { host: string; port: number; count: number; localAddress?: string; reopenMs?: number }): IdleSockets {
  const sockets = new Set<net.Socket>();
  let opened = 0;
  let stopped = false;
  const one = () => {
    if (stopped) return;
    opened++;
    const s = net.connect({ host: opts.host, port: opts.port, localAddress: opts.localAddress });
    sockets.add(s);
    s.on('error', () => {});
    s.on('close', () => {
      sockets.delete(s);
      if (!stopped) setTimeout(one, opts.reopenMs ?? 250).unref();
    });
  };
  for (let i = 0; i < opts.count; i++) one();
  return {
    open: () => [...sockets].filter((s) => !s.connecting && !s.destroyed).length,
    opened: () => opened,
    stop() {
      stopped = true;
      for (const s of sockets) s.destroy();
      sockets.clear();
    },
  };
}
