import type { AbortOptions, Connection, PeerId, Stream, StreamHandler, StreamHandlerOptions } from '@libp2p/interface';
import { peerIdFromString } from '@libp2p/peer-id';
import { ProtocolViolation } from './framing.js';

/**
 * A wire protocol as a service, in the manner of js-libp2p's @libp2p/ping: each protocol folder
 * has a constants.ts (protocol id, version, limits, timeouts), one class extending
 * ProtocolService, and an index.ts exporting a factory. The node builds its services from a list
 * of factories and starts and stops them together; start() registers the handler behind the one
 * trust check (guardStream), so no handler repeats it.
 */

/** Who may open a stream of a protocol. */
export type Access =
  /** Trusted family members only: anyone else has the stream reset (and a warning logged). */
  | 'family'
  /**
   * Also a stranger the connection gater admitted on probation (while a pairing can be under
   * way: an open invite of this site, see node/host/admission.ts). Only pairing uses it.
   */
  | 'probation';

/** What a service declares about itself (its constants.ts). */
export interface ServiceSpec {
  /** Protocol id, e.g. /lomo/pair/1.0.0. */
  protocol: string;
  access: Access;
  /** Concurrent streams per connection this node accepts / opens. */
  maxInboundStreams: number;
  maxOutboundStreams: number;
  /** Log wording: "<label> from <peer> reset: <noun> from a peer that is not trusted". */
  label: string;
  noun: string;
}

export interface ServiceLog {
  info(msg: string): void;
  warn(msg: string): void;
}

/** Who is family (node/host/admission.ts reads the catalog's trust list). */
export interface TrustPolicy {
  trusted(peerId: string): boolean;
}

/** The part of the libp2p host a service uses (a Libp2p node satisfies it). */
export interface ServiceHost {
  handle(protocol: string, handler: StreamHandler, options?: StreamHandlerOptions): Promise<void>;
  unhandle(protocol: string, options?: AbortOptions): Promise<void>;
  dialProtocol(peer: PeerId, protocols: string | string[], options?: AbortOptions & { runOnLimitedConnection?: boolean }): Promise<Stream>;
}

/** What every service gets from the node. */
export interface ServiceComponents {
  host: ServiceHost;
  trust: TrustPolicy;
  log: ServiceLog;
}

/** Builds a service from the node's components (what each protocol's index.ts exports). */
export type ServiceFactory<S extends ProtocolService = ProtocolService> = (components: ServiceComponents) => S;

/** Stream helpers reject with a bare 'close' Event when the remote closes; make it an Error. */
export function asError(x: unknown): Error {
  if (x instanceof Error) return x;
  if (x && typeof x === 'object' && 'type' in x) return new Error(`stream ${(x as Event).type}d by the remote side`);
  return new Error(String(x));
}

/**
 * The one wrapper between libp2p and a protocol handler. It refuses a peer the spec's access
 * does not allow, and turns anything a handler throws (a ProtocolViolation, a timeout, a closed
 * stream) into a stream reset and one warning naming the peer, so a bad peer never takes the
 * node down and a handler only describes the exchange.
 */
export function guardStream(spec: ServiceSpec, trust: TrustPolicy, log: ServiceLog, handler: StreamHandler): StreamHandler {
  return async (stream: Stream, connection: Connection) => {
    const from = connection.remotePeer.toString();
    try {
      if (spec.access === 'family' && !trust.trusted(from)) throw new ProtocolViolation(`${spec.noun} from a peer that is not trusted`);
      await handler(stream, connection);
    } catch (thrown) {
      const err = asError(thrown);
      log.warn(`${spec.label} from ${from} reset: ${err.message}`);
      stream.abort(err);
    }
  };
}

/** Dial and stream timeout of outbound streams unless a service says otherwise. */
export const DIAL_TIMEOUT_MS = 20_000;

/** Base of every /lomo service: registration (start/stop) and outbound streams. */
export abstract class ProtocolService {
  private started = false;

  constructor(
    readonly spec: ServiceSpec,
    protected readonly components: ServiceComponents,
  ) {}

  get protocol(): string {
    return this.spec.protocol;
  }

  /** Serves one inbound stream from an admitted peer; throwing resets the stream (guardStream). */
  protected abstract handleStream(stream: Stream, connection: Connection): Promise<void>;

  async start(): Promise<void> {
    const { host, trust, log } = this.components;
    await host.handle(this.spec.protocol, guardStream(this.spec, trust, log, (s, c) => this.handleStream(s, c)), {
      maxInboundStreams: this.spec.maxInboundStreams,
      maxOutboundStreams: this.spec.maxOutboundStreams,
      // Family members behind NAT talk through a family relay (no data/time limit there).
      runOnLimitedConnection: true,
    });
    this.started = true;
  }

  async stop(): Promise<void> {
    await this.components.host.unhandle(this.spec.protocol);
    this.started = false;
  }

  isStarted(): boolean {
    return this.started;
  }

  /** Opens a stream of this protocol to a peer; a family protocol is never opened to a stranger. */
  protected async openStream(peerId: string, signal: AbortSignal = AbortSignal.timeout(DIAL_TIMEOUT_MS)): Promise<Stream> {
    if (this.spec.access === 'family' && !this.components.trust.trusted(peerId)) throw new Error(`${peerId} is not a trusted peer`);
    return this.components.host.dialProtocol(peerIdFromString(peerId), this.spec.protocol, { signal, runOnLimitedConnection: true });
  }
}
