import type { Argv, CommandModule } from 'yargs';
import { dataDir, type GlobalArgs } from '../context.js';
import { EXIT, UserError } from '../exit-codes.js';
import { controlRequest } from '../host/control.js';
import { parseDuration } from '../host/durations.js';
import type { SyncReport } from '../host/lomo-node.js';
import { printJson, printTable } from '../output.js';

interface SyncArgs extends GlobalArgs {
  wait: boolean;
  timeout: string;
}

/**
 * `lomo-peer sync [--wait] [--timeout 10m]`: the running node exchanges site logs with every
 * online family member now. With --wait it returns 0 once every member holds this site's log
 * head; exit 4 names whoever does not (offline members included: 0 means the whole family has it).
 */
export const syncCommand: CommandModule<GlobalArgs, SyncArgs> = {
  command: 'sync',
  describe: 'Exchange site logs with every online family member now (--wait: until each holds this site\'s head)',
  builder: (y: Argv<GlobalArgs>) =>
    y
      .option('wait', { type: 'boolean', default: false, describe: "Wait until every family member has acknowledged this site's log head" })
      .option('timeout', { type: 'string', default: '10m', describe: 'How long --wait waits (e.g. 90s, 10m)' })
      .example('$0 sync --wait', 'exchange logs now and wait until the whole family holds them (exit 4 names who does not)') as Argv<SyncArgs>,
  handler: async (args) => {
    const timeoutMs = parseDuration(args.timeout, '--timeout');
    const report = await controlRequest<SyncReport>(dataDir(args), { op: 'sync', wait: args.wait, timeoutMs }, timeoutMs + 60_000);
    if (args.json) printJson(report);
    else {
      process.stdout.write(`site log head: entry ${report.head.seq}\n\n`);
      printTable(
        ['NAME', 'PEER ID', 'STATE', 'HAS OUR HEAD', 'SENT', 'RECEIVED', 'ERROR'],
        report.peers.map((p) => [p.name, p.peerId, p.online ? 'online' : 'offline', p.acknowledged ? 'yes' : 'no', String(p.sent), String(p.received), p.error ?? '']),
        [4, 5],
      );
    }
    const failed = report.peers.filter((p) => p.online && p.error);
    if (args.wait && report.missing.length > 0) {
      const who = report.missing.map((m) => `${m.name} (${m.peerId}${m.online ? '' : ', offline'})`).join(', ');
      throw new UserError(`not every family member holds this site's log head (entry ${report.head.seq}): missing ${who}`, EXIT.PARTIAL);
    }
    if (failed.length > 0) {
      throw new UserError(`log exchange failed with ${failed.map((p) => `${p.name} (${p.peerId}): ${p.error}`).join('; ')}`, EXIT.PARTIAL);
    }
  },
};
