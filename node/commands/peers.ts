import type { Argv, CommandModule } from 'yargs';
import { dataDir, withCatalog, type GlobalArgs } from '../context.js';
import { EXIT, UserError } from '../exit-codes.js';
import { formatDateTime, printJson, printTable } from '../output.js';
import { controlRequest, nodeRunning } from '../host/control.js';
import { findPeer, listPeers, revokePeer } from '../../protocol/trust/store.js';
import { formatSize } from '../../storage/util/units.js';

interface PeersArgs extends GlobalArgs {
  action: string;
  peer?: string;
  all: boolean;
}

/** `lomo-peer peers [list]` and `lomo-peer peers remove <peer>`. */
export const peersCommand: CommandModule<GlobalArgs, PeersArgs> = {
  command: 'peers [action] [peer]',
  describe: 'List trusted households, or revoke one (peers remove <peer id or name>)',
  builder: (y: Argv<GlobalArgs>) =>
    y
      .positional('action', { type: 'string', choices: ['list', 'remove'], default: 'list' })
      .positional('peer', { type: 'string', describe: 'Peer id (or unique prefix) or name, for remove' })
      .option('all', { type: 'boolean', default: false, describe: 'Also list revoked peers' })
      .example('$0 peers remove Grandma', 'revoke Grandma: connections drop, refused from now on') as Argv<PeersArgs>,
  handler: async (args) => {
    if (args.action === 'remove') return removePeer(args);
    const rows = withCatalog(args, (db) => listPeers(db, { includeRevoked: args.all }));
    if (args.json) return printJson(rows);
    const q = (v: number | null) => (v === null ? '-' : formatSize(v));
    printTable(
      ['NAME', 'PEER ID', 'STATE', 'WE STORE', 'THEY STORE', 'PAIRED', 'VIA'],
      rows.map((p) => [
        p.name,
        p.peerId,
        p.revokedAt === null ? 'trusted' : 'revoked',
        q(p.quotaOffered),
        q(p.quotaGranted),
        formatDateTime(p.pairedAt),
        p.introducedBy ? `introduced by ${p.introducedBy.slice(-8)}` : 'invite',
      ]),
    );
  },
};

async function removePeer(args: PeersArgs): Promise<void> {
  if (!args.peer) throw new UserError('peers remove needs a peer id or name (see `lomo-peer peers`)', EXIT.USAGE);
  const ref = args.peer;
  const matches = withCatalog(args, (db) => findPeer(db, ref));
  if (matches.length === 0) throw new UserError(`no peer matches "${ref}"; \`lomo-peer peers --all\` lists them`, EXIT.USAGE);
  if (matches.length > 1) throw new UserError(`"${ref}" matches ${matches.length} peers; give the full peer id`, EXIT.USAGE);
  const peer = matches[0]!;
  const dir = dataDir(args);
  // The running node revokes and hangs up at once; without a node the catalog is enough (the
  // gater reads it on every connection, and a node started later sweeps revoked peers).
  if (await nodeRunning(dir)) await controlRequest(dir, { op: 'revoke', peerId: peer.peerId });
  else withCatalog(args, (db) => revokePeer(db, peer.peerId));
  if (args.json) return printJson({ revoked: peer.peerId, name: peer.name });
  process.stdout.write(`revoked ${peer.name} (${peer.peerId})\n`);
}
