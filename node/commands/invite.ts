import type { Argv, CommandModule } from 'yargs';
import { dataDir, type GlobalArgs } from '../context.js';
import { EXIT, UserError } from '../exit-codes.js';
import { formatDateTime, printJson } from '../output.js';
import { controlRequest } from '../host/control.js';
import { parseSize } from '../../storage/util/units.js';
import { parseDuration } from '../host/durations.js';

interface InviteArgs extends GlobalArgs {
  expires: string;
  quota?: string;
  name?: string;
}

/** `lomo-peer invite`: asks the running node for a single-use invitation code. */
export const inviteCommand: CommandModule<GlobalArgs, InviteArgs> = {
  command: 'invite',
  describe: 'Print a single-use code that lets another household join this family',
  builder: (y: Argv<GlobalArgs>) =>
    y
      .option('expires', { type: 'string', default: '24h', describe: 'How long the code is valid (e.g. 30m, 24h, 7d)' })
      .option('quota', { type: 'string', describe: 'Storage this site offers the new household (e.g. 500GB)' })
      .option('name', { type: 'string', describe: 'What this site will call the new household (default: its own name)' })
      .example('$0 invite --expires 2h --quota 500GB --name Grandma', 'code for Grandma, valid 2 hours') as Argv<InviteArgs>,
  handler: async (args) => {
    const expiresMs = parseDuration(args.expires, '--expires');
    let quota: number | null = null;
    if (args.quota !== undefined) {
      try {
        quota = parseSize(args.quota);
      } catch (err) {
        throw new UserError(`--quota: ${(err as Error).message}`, EXIT.USAGE);
      }
    }
    const r = await controlRequest<{ code: string; expiresAt: number; addrs: string[] }>(dataDir(args), {
      op: 'invite',
      expiresMs,
      quota,
      label: args.name ?? '',
    });
    if (args.json) return printJson(r);
    process.stdout.write(`${r.code}\n`);
    process.stderr.write(
      `Send this code to the other household; they run: lomo-peer join <code>\n` +
        `It works once, until ${formatDateTime(r.expiresAt)}.\n`,
    );
  },
};
