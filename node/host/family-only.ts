import type { Connection, Stream, StreamHandler, StreamHandlerOptions } from '@libp2p/interface';
import type { Host } from './host.js';

/**
 * libp2p's own protocols that a stranger on probation must not use: identify tells every
 * protocol this node serves, its agent version and addresses; ping is a liveness and timing
 * oracle. A stranger admitted while an invite is open needs neither: pairing runs on its own
 * protocol (issue 13). Family members keep both (the relay client finds relays by identify).
 */
export const FAMILY_ONLY_LIBP2P_PROTOCOLS = ['/ipfs/id/1.0.0', '/ipfs/id/push/1.0.0', '/ipfs/ping/1.0.0'];

interface Registrar {
  getHandler(protocol: string): { handler: StreamHandler; options: StreamHandlerOptions };
  handle(protocol: string, handler: StreamHandler, options?: StreamHandlerOptions & { force?: boolean }): Promise<void>;
}

/**
 * Re-registers the handlers of `protocols` (registered by libp2p's services when the host
 * started) behind a trust check: a stream from anyone else is reset before the service sees it.
 * Call after host.start(). libp2p offers no per-peer filter for these services, hence the wrap.
 */
export async function restrictToFamily(
  host: Host,
  trusted: (peerId: string) => boolean,
  onRefused: (peerId: string, protocol: string) => void,
  protocols: string[] = FAMILY_ONLY_LIBP2P_PROTOCOLS,
): Promise<void> {
  const registrar = (host as unknown as { components: { registrar: Registrar } }).components.registrar;
  for (const protocol of protocols) {
    let registered: ReturnType<Registrar['getHandler']>;
    try {
      registered = registrar.getHandler(protocol);
    } catch {
      continue; // not served by this node
    }
    const inner = registered.handler;
    const guarded = (stream: Stream, connection: Connection) => {
      const from = connection.remotePeer.toString();
      if (!trusted(from)) {
        onRefused(from, protocol);
        stream.abort(new Error(`${protocol} is for family members only`));
        return;
      }
      return inner(stream, connection);
    };
    await registrar.handle(protocol, guarded, { ...registered.options, force: true });
  }
}
