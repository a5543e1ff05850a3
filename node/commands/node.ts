import type { Argv, CommandModule } from 'yargs';
import path from 'node:path';
import { dataDir, warnSiteFileModes, type GlobalArgs } from '../context.js';
import { log } from '../log.js';
import { printJson } from '../output.js';
import { nodeRunning, startControlServer } from '../host/control.js';
import { EXIT, UserError } from '../exit-codes.js';
import { controlHandler } from '../host/control-api.js';
import { DEFAULT_PORT } from '../host/host.js';
import { LomoNode } from '../host/lomo-node.js';
import { parseDuration } from '../host/durations.js';
import { DEFAULT_REPLICAS, MAX_REPLICAS, type ReplicationPolicy } from '../../storage/replication/policy.js';
import { tuneHeap } from '../heap.js';

interface NodeArgs extends GlobalArgs {
  listen: string[];
  announce: string[];
  mdns: boolean;
  upnp: boolean;
  upnpGateway: string[];
  relayServer: boolean;
  relay: boolean;
  siteName?: string;
  maintenanceInterval: number;
  probationSeconds: number;
  scrubDays: number;
  replicas?: number;
  holderStale?: string;
  auditInterval?: string;
}

/**
 * `lomo-peer node`: the long-running process of a site, in the foreground (systemd runs it; see
 * deploy/lomo-peer.service). SIGINT/SIGTERM stop it cleanly (exit 0).
 */
export const nodeCommand: CommandModule<GlobalArgs, NodeArgs> = {
  command: 'node',
  describe: 'Run this site\'s peer node (foreground) until SIGINT/SIGTERM',
  builder: (y: Argv<GlobalArgs>) =>
    y
      .option('listen', { type: 'string', array: true, default: [`/ip4/0.0.0.0/tcp/${DEFAULT_PORT}`], describe: 'Listen multiaddrs' })
      .option('announce', { type: 'string', array: true, default: [], describe: 'Extra addresses to announce (e.g. a forwarded port)' })
      .option('mdns', { type: 'boolean', default: true, describe: 'Find family nodes on the local network (mDNS)' })
      .option('upnp', { type: 'boolean', default: true, describe: 'Ask the router for a port mapping (UPnP IGD)' })
      .option('upnp-gateway', { type: 'string', array: true, default: [], describe: 'UPnP gateway description URL(s) instead of an SSDP search' })
      .option('relay-server', { type: 'boolean', default: false, describe: 'Relay traffic for family members that cannot be reached directly' })
      .option('relay', { type: 'boolean', default: true, describe: 'Use family relays when not reachable directly' })
      .option('site-name', { type: 'string', describe: 'This site\'s name, shown to the family (stored; default: host name)' })
      .option('maintenance-interval', { type: 'number', default: 15, describe: 'Seconds between re-dials of absent family members' })
      .option('probation-seconds', {
        type: 'number',
        default: 60,
        describe: 'While an invite is open: seconds a stranger may stay connected without completing pairing',
      })
      .option('scrub-days', {
        type: 'number',
        default: 7,
        describe: 'Days between re-checks of each chunk kept for other households against its hash (0: every maintenance round)',
      })
      .option('replicas', {
        type: 'number',
        describe: `Other households that keep each volume of this site (stored; default ${DEFAULT_REPLICAS}; staged files go to 1)`,
      })
      .option('holder-stale', { type: 'string', describe: 'A holder not seen for this long no longer counts and its copies are placed elsewhere (stored; default 14d)' })
      .option('audit-interval', { type: 'string', describe: 'How often each household holding our chunks is asked whether it still has them (default 6h)' })
      .example('$0 node', `run this household's node on TCP port ${DEFAULT_PORT} with mDNS and UPnP`)
      .example(`$0 node --relay-server --announce /ip4/203.0.113.7/tcp/${DEFAULT_PORT}`, 'a reachable family node (forwarded port) that relays for the others') as unknown as Argv<NodeArgs>,
  handler: async (args) => {
    tuneHeap();
    // Signal handlers first: a SIGTERM that arrives while the node starts, or right after it said
    // "started" (a supervisor or a script reacting to that line), must stop it cleanly, never kill
    // it with the default action half-way. A second signal during shutdown is only logged.
    let requested: string | null = null;
    let onStop: (() => void) | null = null;
    const onSignal = (sig: string) => {
      if (requested) return log.info(`${sig}: already stopping`);
      requested = sig;
      log.info(`${sig}: stopping the node`);
      onStop?.();
    };
    const onInt = () => onSignal('SIGINT');
    const onTerm = () => onSignal('SIGTERM');
    process.on('SIGINT', onInt);
    process.on('SIGTERM', onTerm);
    try {
      await runNode(args, () => requested !== null, (fn) => (onStop = fn));
    } finally {
      process.off('SIGINT', onInt);
      process.off('SIGTERM', onTerm);
    }
  },
};

async function runNode(args: NodeArgs, stopRequested: () => boolean, whenStopRequested: (fn: () => void) => void): Promise<void> {
  const dir = dataDir(args);
  warnSiteFileModes(args);
  // Refuse before touching the network: a second node would fight the first over its peers.
  if (await nodeRunning(dir)) {
    throw new UserError(`a node is already running for ${dir} (control socket answers); stop it first`, EXIT.USAGE);
  }
  const node = await LomoNode.start({
    dbFile: path.resolve(args.db),
    dataDir: dir,
    listen: args.listen,
    announce: args.announce,
    mdns: args.mdns,
    upnp: args.upnp,
    upnpGateways: args.upnpGateway,
    relayServer: args.relayServer,
    relayClient: args.relay,
    siteName: args.siteName,
    maintenanceMs: Math.max(0.2, args.maintenanceInterval) * 1000,
    probationMs: Math.max(1, args.probationSeconds) * 1000,
    scrubEveryMs: Math.max(0, args.scrubDays) * 24 * 3600_000,
    replicate: true,
    policy: placementPolicy(args),
    auditMs: args.auditInterval === undefined ? undefined : parseDuration(args.auditInterval, '--audit-interval'),
  });
  let control: { close(): Promise<void> };
  try {
    control = await startControlServer(dir, controlHandler(node));
  } catch (err) {
    await node.stop();
    throw err;
  }
  const info = { peerId: node.peerId, name: node.siteName(), addrs: node.addrs() };
  if (args.json) printJson({ event: 'started', ...info });
  else process.stdout.write(`node ${info.peerId} (${info.name}) listening on\n${info.addrs.map((a) => `  ${a}\n`).join('')}`);
  log.info(`node running; stop with Ctrl-C or SIGTERM`);
  await new Promise<void>((resolve) => {
    whenStopRequested(resolve);
    if (stopRequested()) resolve();
  });
  await control.close();
  await node.stop();
  log.info('node stopped');
}

/** `--replicas` and `--holder-stale`, checked before the node starts; what is not given stays as stored. */
function placementPolicy(args: NodeArgs): Partial<ReplicationPolicy> {
  const p: Partial<ReplicationPolicy> = {};
  if (args.replicas !== undefined) {
    if (!(Number.isInteger(args.replicas) && args.replicas >= 0 && args.replicas <= MAX_REPLICAS)) {
      throw new UserError(`--replicas: a whole number from 0 to ${MAX_REPLICAS}`, EXIT.USAGE);
    }
    p.replicas = args.replicas;
  }
  if (args.holderStale !== undefined) p.holderStaleMs = parseDuration(args.holderStale, '--holder-stale');
  return p;
}
