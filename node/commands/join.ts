import type { Argv, CommandModule } from 'yargs';
import path from 'node:path';
import readline from 'node:readline';
import { dataDir, warnSiteFileModes, type GlobalArgs } from '../context.js';
import { EXIT, UserError } from '../exit-codes.js';
import { log } from '../log.js';
import { formatDateTime, printJson } from '../output.js';
import { controlRequest, nodeRunning } from '../host/control.js';
import { asUserError } from '../host/control-api.js';
import { LomoNode } from '../host/lomo-node.js';
import { decodeInviteCode, type InviteCode, type JoinResult } from '../../protocol/pairing/index.js';
import { parseSize } from '../../storage/util/units.js';

interface JoinArgs extends GlobalArgs {
  code?: string;
  name?: string;
  quota?: string;
  siteName?: string;
}

/**
 * `lomo-peer join [code]`: pairs with the household that made the code. Through the running node
 * if there is one (its connections stay up); otherwise with a short-lived host that only dials out.
 * The code holds the invitation's secret and any local user can read a command line
 * (/proc/<pid>/cmdline) while join runs, so it can come from standard input instead: `join -`, or
 * no code at all (piped, or typed at a prompt).
 */
export const joinCommand: CommandModule<GlobalArgs, JoinArgs> = {
  command: 'join [code]',
  describe: 'Join a family with an invitation code from `lomo-peer invite` (or `-`: read it from standard input)',
  builder: (y: Argv<GlobalArgs>) =>
    y
      .positional('code', {
        type: 'string',
        describe: 'The invitation code; `-` or none: read from standard input (safer: a command line is visible to other local users)',
      })
      .option('name', { type: 'string', describe: 'What this site will call the inviting household (default: its own name)' })
      .option('quota', { type: 'string', describe: 'Storage this site offers the inviting household (e.g. 500GB)' })
      .option('site-name', { type: 'string', describe: 'This site\'s name, shown to the family (stored)' })
      .example('$0 join', 'paste the code at the prompt: pair with the household that printed it (lomo-peer invite)')
      .example('$0 join - < code.txt', 'read the code from standard input')
      .example('$0 join lomo1...', 'the code on the command line (visible to other local users while join runs)')
      .example('$0 join lomo1... --quota 500GB --site-name "The Lees"', 'offer them 500 GB and introduce this site by name') as Argv<JoinArgs>,
  handler: async (args) => {
    warnSiteFileModes(args);
    const { code, text } = await inviteCodeOf(args.code);
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
      result = await controlRequest<JoinResult>(dir, { op: 'join', code: text, name: args.name, quota });
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

/**
 * The code from standard input: its first non-empty line, a prompt first when it is a terminal.
 * (decodeInviteCode ignores white space, so a code wrapped by a mail client still works.)
 */
/**
 * The invitation code of `join`/`recover`: the argument, or standard input when it is `-` or missing
 * (yargs hands a lone `-` over as ''); decoded and checked for expiry, with the documented exit codes.
 */
export async function inviteCodeOf(arg: string | undefined): Promise<{ code: InviteCode; text: string }> {
  const fromStdin = arg === undefined || arg === '-' || arg === '';
  const text = fromStdin ? await readCode() : String(arg);
  let code: InviteCode;
  try {
    code = decodeInviteCode(text);
  } catch (err) {
    throw asUserError(err);
  }
  if (code.expiresAt <= Date.now()) {
    throw new UserError(`this invitation expired at ${formatDateTime(code.expiresAt)}; ask for a new one`, EXIT.NETWORK);
  }
  return { code, text };
}

export async function readCode(): Promise<string> {
  const tty = process.stdin.isTTY === true;
  if (tty) process.stderr.write('Invitation code: ');
  const rl = readline.createInterface({ input: process.stdin, terminal: false });
  try {
    for await (const line of rl) {
      if (line.trim() !== '') return line;
    }
  } finally {
    rl.close();
  }
  throw new UserError('no invitation code: name it (join <code>) or give it on standard input (join - < file)', EXIT.USAGE);
}
