import type { Argv, CommandModule } from 'yargs';
import { dataDir, withCatalog, type GlobalArgs } from '../context.js';
import { EXIT, UserError } from '../exit-codes.js';
import { formatDateTime, printJson, printTable } from '../output.js';
import { controlRequest, nodeRunning } from '../host/control.js';
import { confirmPeer, findPeer, listPeers, type PeerRow } from '../../storage/trust/peers.js';
import { revokeSigned } from '../../storage/trust/members.js';
import { loadIdentity } from '../identity.js';
import { siteLogKeys } from '../host/log-keys.js';
import type { SpeedtestResult } from '../../protocol/speedtest/index.js';
import { formatSize } from '../../storage/util/units.js';
import { ownHousehold, peerUsages, usedOf } from '../host/peer-usage.js';

interface PeersArgs extends GlobalArgs {
  action: string;
  peer?: string;
  all: boolean;
  seconds: number;
  streams: number;
}

/**
 * `lomo-peer peers [list]`, `peers remove <peer>` (also revokes what it introduced),
 * `peers confirm <peer>` (trust a pending introduced site) and `peers speedtest <peer>` (needs the node).
 */
export const peersCommand: CommandModule<GlobalArgs, PeersArgs> = {
  command: 'peers [action] [peer]',
  describe: 'List households, revoke one (peers remove <peer>), confirm an introduced one (peers confirm <peer>), or measure the link (peers speedtest <peer>)',
  builder: (y: Argv<GlobalArgs>) =>
    y
      .positional('action', { type: 'string', choices: ['list', 'remove', 'confirm', 'speedtest'], default: 'list' })
      .positional('peer', { type: 'string', describe: 'Peer id (or unique prefix) or name, for remove, confirm and speedtest' })
      .option('all', { type: 'boolean', default: false, describe: 'Also list revoked peers' })
      .option('seconds', { type: 'number', default: 5, describe: 'speedtest: how long to send' })
      .option('streams', { type: 'number', default: 1, describe: 'speedtest: parallel streams (1-16)' })
      .example('$0 peers remove Grandma', 'revoke Grandma (and the sites it introduced): connections drop, refused from now on')
      .example('$0 peers confirm Uncle', 'trust Uncle, introduced by a family member and pending until now') as Argv<PeersArgs>,
  handler: async (args) => {
    if (args.action === 'remove') return removePeer(args);
    if (args.action === 'confirm') return confirm(args);
    if (args.action === 'speedtest') return speedtest(args);
    const rows = withCatalog(args, (db) => {
      const peers = listPeers(db, { includeRevoked: args.all, includePending: true });
      const usage = peerUsages(db, ownHousehold(db), peers);
      // What each household uses of the quotas both ways (peer-usage.ts), next to the agreement.
      return peers.map((p) => ({ ...p, usage: usage.get(p.peerId)! }));
    });
    if (args.json) return printJson(rows);
    const q = (v: number | null) => (v === null ? '-' : formatSize(v));
    printTable(
      ['NAME', 'PEER ID', 'STATE', 'WE STORE', 'THEY STORE', 'PAIRED', 'VIA', 'USED HERE', 'USED THERE'],
      rows.map((p) => [
        p.name,
        p.peerId,
        p.state,
        q(p.quotaOffered),
        q(p.quotaGranted),
        formatDateTime(p.pairedAt),
        p.introducedBy ? `introduced by ${p.introducedBy.slice(-8)}` : 'invite',
        usedOf(p.usage.hosted.usedBytes, p.usage.hosted.quotaBytes),
        usedOf(p.usage.held.bytes, p.usage.held.quotaBytes),
      ]),
    );
  },
};

function onePeer(args: PeersArgs): PeerRow {
  if (!args.peer) throw new UserError(`peers ${args.action} needs a peer id or name (see \`lomo-peer peers\`)`, EXIT.USAGE);
  const ref = args.peer;
  const matches = withCatalog(args, (db) => findPeer(db, ref));
  if (matches.length === 0) throw new UserError(`no peer matches "${ref}"; \`lomo-peer peers --all\` lists them`, EXIT.USAGE);
  if (matches.length > 1) throw new UserError(`"${ref}" matches ${matches.length} peers; give the full peer id`, EXIT.USAGE);
  return matches[0]!;
}

async function speedtest(args: PeersArgs): Promise<void> {
  const peer = onePeer(args);
  if (!(args.seconds > 0 && args.seconds <= 60)) throw new UserError('--seconds must be between 0 and 60', EXIT.USAGE);
  const r = await controlRequest<SpeedtestResult>(dataDir(args), { op: 'speedtest', peerId: peer.peerId, durationMs: args.seconds * 1000, streams: args.streams }, 120_000);
  if (args.json) return printJson({ peerId: peer.peerId, ...r });
  process.stdout.write(`${peer.name}: ${(r.bitsPerSecond / 1e6).toFixed(1)} Mbit/s (${formatSize(r.bytes)} in ${r.seconds.toFixed(1)} s, ${r.streams} stream${r.streams > 1 ? 's' : ''})\n`);
}

async function removePeer(args: PeersArgs): Promise<void> {
  const peer = onePeer(args);
  const dir = dataDir(args);
  // The running node revokes and hangs up at once; without a node the catalog is enough (the
  // gater reads it on every connection, and a node started later sweeps revoked peers).
  let also: string[];
  if (await nodeRunning(dir)) also = (await controlRequest<{ also: string[] }>(dir, { op: 'revoke', peerId: peer.peerId })).also;
  else {
    // Signed with the site's identity when it has one (a site that never ran a node has no log).
    const identity = loadIdentity(dir);
    also = withCatalog(args, (db) => revokeSigned(db, identity ? siteLogKeys(db, identity) : null, peer.peerId)).filter((id) => id !== peer.peerId);
  }
  if (args.json) return printJson({ revoked: peer.peerId, name: peer.name, also });
  process.stdout.write(`revoked ${peer.name} (${peer.peerId})\n`);
  if (also.length > 0) process.stdout.write(`also revoked ${also.length} site(s) it introduced: ${also.join(' ')}\n`);
}

async function confirm(args: PeersArgs): Promise<void> {
  const peer = onePeer(args);
  if (peer.state !== 'pending') throw new UserError(`${peer.name} (${peer.peerId}) is ${peer.state}, not pending: nothing to confirm`, EXIT.USAGE);
  const dir = dataDir(args);
  // The running node dials the site at once; without a node the catalog is enough.
  if (await nodeRunning(dir)) await controlRequest(dir, { op: 'confirm', peerId: peer.peerId });
  else withCatalog(args, (db) => confirmPeer(db, peer.peerId));
  if (args.json) return printJson({ confirmed: peer.peerId, name: peer.name });
  process.stdout.write(`confirmed ${peer.name} (${peer.peerId}): trusted from now on\n`);
}
