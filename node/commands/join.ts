import type { Argv, CommandModule } from 'yargs';
import path from 'node:path';
import { dataDir, type GlobalArgs } from '../context.js';
import { EXIT, UserError } from '../exit-codes.js';
import { log } from '../log.js';
import { formatDateTime, printJson } from '../output.js';
import { controlRequest, nodeRunning } from '../host/control.js';
import { asUserError } from '../host/control-api.js';
import { LomoNode } from '../host/lomo-node.js';
import { decodeInviteCode, type JoinResult } from '../../protocol/pairing/index.js';
import { parseSize } from '../../storage/util/units.js';

interface JoinArgs extends GlobalArgs {
  code: string;
  name?: string;
  quota?: string;
  siteName?: string;
}

/**
 * `lomo-peer join <code>`: pairs with the household that made the code. Through the running node
 * if there is one (its connections stay up); otherwise with a short-lived host that only dials out.
 */
export const joinCommand: CommandModule<GlobalArgs, JoinArgs> = {
  command: 'join <code>',
  describe: 'Join a family with an invitation code from `lomo-peer invite`',
  builder: (y: Argv<GlobalArgs>) =>
    y
      .positional('code', { type: 'string', demandOption: true, describe: 'The invitation code' })
      .option('name', { type: 'string', describe: 'What this site will call the inviting household (default: its own name)' })
      .option('quota', { type: 'string', describe: 'Storage this site offers the inviting household (e.g. 500GB)' })
      .option('site-name', { type: 'string', describe: 'This site\'s name, shown to the family (stored)' })
      .example('$0 join lomo1...', 'pair with the household that printed the code (lomo-peer invite)')
      .example('$0 join lomo1... --quota 500GB --site-name "The Lees"', 'offer them 500 GB and introduce this site by name') as Argv<JoinArgs>,
  handler: async (args) => {
    let code;
    try {
      code = decodeInviteCode(String(args.code));
    } catch (err) {
      throw asUserError(err);
    }
    if (code.expiresAt <= Date.now()) {
      throw new UserError(`this invitation expired at ${formatDateTime(code.expiresAt)}; ask for a new one`, EXIT.NETWORK);
    }
    let quota: number | null = null;
    if (args.quota !== undefined) {
      try {
        quota = parseSize(args.quota);
      } catch (err) {
        throw new UserError(`--quota: ${(err as Error).message}`, EXIT.USAGE);
      }
    }
    const dir = dataDir(args);
    let result: JoinResult;
    if (await nodeRunning(dir)) {
      result = await controlRequest<JoinResult>(dir, { op: 'join', code: String(args.code), name: args.name, quota });
    } else {
      log.debug('no node running: joining with a short-lived host');
      const node = await LomoNode.start({
        dbFile: path.resolve(args.db),
        dataDir: dir,
        listen: [],
        relayClient: true,
        siteName: args.siteName,
        maintenanceMs: 3_600_000,
      });
      try {
        result = await node.joinDecoded(code, { name: args.name, quota });
      } catch (err) {
        throw asUserError(err);
      } finally {
        await node.stop();
      }
    }
    if (args.json) return printJson(result);
    const others = result.introduced.length;
    process.stdout.write(
      `joined: ${result.inviter.name} (${result.inviter.peerId}) is now trusted` +
        (others > 0 ? `, and ${others} more family member${others > 1 ? 's' : ''}: ${result.introduced.map((m) => m.name).join(', ')}` : '') +
        '\n',
    );
  },
};
