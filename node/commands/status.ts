import path from 'node:path';
import type { Argv, CommandModule } from 'yargs';
import { dataDir, withCatalog, type GlobalArgs } from '../context.js';
import { EXIT, UserError } from '../exit-codes.js';
import { formatDateTime, printJson, printTable } from '../output.js';
import { controlRequest, nodeRunning } from '../host/control.js';
import { catalogStatus, type StatusReport } from '../host/status.js';
import { loadIdentity } from '../identity.js';
import { usedOf } from '../host/peer-usage.js';
import { describeRefusals } from '../host/replicator.js';
import { formatSize } from '../../storage/util/units.js';

/** `lomo-peer status`: this site and each peer (online, last seen, address, RTT). */
export const statusCommand: CommandModule<GlobalArgs, GlobalArgs> = {
  command: 'status',
  describe: 'Show this site and each family peer: online, last seen, address, round-trip time',
  builder: (y: Argv<GlobalArgs>) =>
    y.example('$0 status', 'this site and each peer: online/offline, last seen, address, round-trip time').example('$0 status --json', 'the same as JSON'),
  handler: async (args) => {
    const dir = dataDir(args);
    let report: StatusReport;
    if (await nodeRunning(dir)) {
      report = await controlRequest<StatusReport>(dir, { op: 'status' });
    } else {
      const id = loadIdentity(dir);
      if (!id) throw new UserError(`this site has no identity yet in ${dir}: run \`lomo-peer node\` once`, EXIT.INPUT);
      report = withCatalog(args, (db) => catalogStatus(db, id.siteId, path.join(dir, 'hosted')));
    }
    if (args.json) return printJson(report);
    const s = report.site;
    process.stdout.write(
      `site ${s.name} ${s.peerId}\n` +
        (s.nodeRunning ? `node running, listening on ${s.addrs.join(' ') || '(no addresses)'}\n` : 'node not running (peers shown as last known)\n') +
        '\n',
    );
    printTable(
      ['NAME', 'PEER ID', 'STATE', 'LAST SEEN', 'RTT', 'ADDRESS', 'USED HERE', 'USED THERE'],
      report.peers.map((p) => [
        p.name,
        p.peerId,
        p.online ? 'online' : 'offline',
        p.lastSeenAt === null ? 'never' : formatDateTime(p.lastSeenAt),
        p.rttMs === null ? '-' : `${Math.round(p.rttMs)} ms`,
        p.address ?? '-',
        usedOf(p.usage.hosted.usedBytes, p.usage.hosted.quotaBytes),
        usedOf(p.usage.held.bytes, p.usage.held.quotaBytes),
      ]),
      [4],
    );
    // Only when something is wrong: the usual table stays as it was.
    const pl = report.placement;
    if (pl?.familyTooSmall && pl.objects > 0) {
      process.stdout.write(`warning: the family has ${pl.members + 1} household(s), fewer than ${pl.replicas + 1}: each volume should be kept by ${pl.replicas} other households\n`);
    } else if (pl && pl.met < pl.objects) {
      process.stdout.write(`placement: ${pl.met} of ${pl.objects} object(s) have their holders${pl.reason ? `: ${pl.reason}` : ''}\n`);
    }
    if (pl?.refused?.length) process.stdout.write(`placement: refused lately by ${describeRefusals(pl.refused)}, tried again later\n`);
    for (const id of report.logs?.forked ?? []) {
      process.stdout.write(`warning: the site log of ${id} forked (it signed two histories; evidence kept)\n`);
    }
    const h = report.hosted ?? { owners: 0, usedBytes: 0, chunkCount: 0, quarantined: 0 };
    if (h.chunkCount > 0) process.stdout.write(`\nkeeping ${formatSize(h.usedBytes)} in ${h.chunkCount} chunk(s) for ${h.owners} household(s)\n`);
    if (h.quarantined > 0) {
      process.stdout.write(`warning: ${h.quarantined} chunk(s) kept for other households no longer matched their hash: quarantined, not served (their owners re-send them)\n`);
    }
  },
};
