import type { Argv, CommandModule } from 'yargs';
import { dataDir, type GlobalArgs } from '../context.js';
import { EXIT, UserError } from '../exit-codes.js';
import { controlRequest } from '../host/control.js';
import { parseDuration } from '../host/durations.js';
import type { SyncReport } from '../host/lomo-node.js';
import { describeRefusals } from '../host/replicator.js';
import { printJson, printTable } from '../output.js';

interface SyncArgs extends GlobalArgs {
  wait: boolean;
  timeout: string;
}

/**
 * `lomo-peer sync [--wait] [--timeout 10m]`: the running node places this site's objects at other
 * households (docs/replication.md "Chunk replication") and exchanges site logs with every online
 * family member now. With --wait it returns 0 once every object has its holders and every member
 * holds this site's log head; exit 4 says why the placement goal is not met (family too small, no
 * quota, holders offline) and names whoever lacks the head (offline members included).
 */
export const syncCommand: CommandModule<GlobalArgs, SyncArgs> = {
  command: 'sync',
  describe: 'Exchange site logs with every online family member now (--wait: until each holds this site\'s head)',
  builder: (y: Argv<GlobalArgs>) =>
    y
      .option('wait', {
        type: 'boolean',
        default: false,
        describe: "Wait until this site's objects have their holders and every family member has acknowledged this site's log head",
      })
      .option('timeout', { type: 'string', default: '10m', describe: 'How long --wait waits (e.g. 90s, 10m)' })
      .example('$0 sync --wait', 'exchange logs now and wait until the whole family holds them (exit 4 names who does not)') as Argv<SyncArgs>,
  handler: async (args) => {
    const timeoutMs = parseDuration(args.timeout, '--timeout');
    const report = await controlRequest<SyncReport>(dataDir(args), { op: 'sync', wait: args.wait, timeoutMs }, timeoutMs + 60_000);
    if (args.json) printJson(report);
    else {
      const pl = report.placement;
      if (pl) process.stdout.write(`placement: ${pl.met} of ${pl.objects} object(s) with their holders (${pl.replicas} per volume)${pl.reason ? `: ${pl.reason}` : ''}\n`);
      if (pl?.refused.length) process.stdout.write(`placement: refused lately by ${describeRefusals(pl.refused)}, tried again later\n`);
      process.stdout.write(`site log head: entry ${report.head.seq}\n\n`);
      printTable(
        ['NAME', 'PEER ID', 'STATE', 'HAS OUR HEAD', 'SENT', 'RECEIVED', 'ERROR'],
        report.peers.map((p) => [p.name, p.peerId, p.online ? 'online' : 'offline', p.acknowledged ? 'yes' : 'no', String(p.sent), String(p.received), p.error ?? '']),
        [4, 5],
      );
    }
    const failed = report.peers.filter((p) => p.online && p.error);
    const pl = report.placement;
    if (args.wait && pl && pl.met < pl.objects) {
      const who = report.missing.length > 0 ? `; not holding this site's log head: ${report.missing.map((m) => m.name).join(', ')}` : '';
      const refused = pl.refused.length > 0 ? `; refused by ${describeRefusals(pl.refused)}` : '';
      throw new UserError(`placement goal not met: ${pl.met} of ${pl.objects} object(s) have their ${pl.replicas} holders: ${pl.reason ?? 'time is up'}${refused}${who}`, EXIT.PARTIAL);
    }
    if (args.wait && report.missing.length > 0) {
      const who = report.missing.map((m) => `${m.name} (${m.peerId}${m.online ? '' : ', offline'})`).join(', ');
      throw new UserError(`not every family member holds this site's log head (entry ${report.head.seq}): missing ${who}`, EXIT.PARTIAL);
    }
    if (failed.length > 0) {
      throw new UserError(`log exchange failed with ${failed.map((p) => `${p.name} (${p.peerId}): ${p.error}`).join('; ')}`, EXIT.PARTIAL);
    }
  },
};
