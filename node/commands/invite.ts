import type { Argv, CommandModule } from 'yargs';
import { dataDir, withCatalog, type GlobalArgs } from '../context.js';
import { EXIT, UserError } from '../exit-codes.js';
import { formatDateTime, printJson, printTable } from '../output.js';
import { controlRequest, nodeRunning } from '../host/control.js';
import { parseSize } from '../../storage/util/units.js';
import { parseDuration } from '../host/durations.js';
import { MAX_INVITE_MS } from '../../protocol/pairing/index.js';
import { cancelInvite, findInvites, listInvites } from '../../storage/trust/invites.js';

interface InviteArgs extends GlobalArgs {
  action: string;
  id?: string;
  expires: string;
  quota?: string;
  name?: string;
  all: boolean;
}

/**
 * `lomo-peer invite`: asks the running node for a single-use invitation code;
 * `invite list` shows the open invitations (`--all`: every one), `invite cancel <id>` closes one.
 */
export const inviteCommand: CommandModule<GlobalArgs, InviteArgs> = {
  command: 'invite [action] [id]',
  describe: 'Print a single-use code that lets another household join this family (or: invite list, invite cancel <id>)',
  builder: (y: Argv<GlobalArgs>) =>
    y
      .positional('action', { type: 'string', choices: ['create', 'list', 'cancel'], default: 'create', describe: 'create (default), list or cancel' })
      .positional('id', { type: 'string', describe: 'cancel: the invite id (or a unique prefix) from `invite list`' })
      .option('expires', { type: 'string', default: '24h', describe: 'How long the code is valid (e.g. 30m, 24h, 7d; at most 7d)' })
      .option('quota', { type: 'string', describe: 'Storage this site offers the new household (e.g. 500GB)' })
      .option('name', { type: 'string', describe: 'What this site will call the new household (default: its own name)' })
      .option('all', { type: 'boolean', default: false, describe: 'list: also used, expired, burnt and cancelled invites' })
      .example('$0 invite --expires 2h --quota 500GB --name Grandma', 'code for Grandma, valid 2 hours')
      .example('$0 invite cancel 3f9a', 'close the open invite whose id starts with 3f9a') as Argv<InviteArgs>,
  handler: async (args) => {
    if (args.action === 'list') return list(args);
    if (args.action === 'cancel') return cancel(args);
    const expiresMs = parseDuration(args.expires, '--expires');
    if (expiresMs > MAX_INVITE_MS) throw new UserError(`--expires: "${args.expires}" is too long: an invitation lasts at most 7d`, EXIT.USAGE);
    let quota: number | null = null;
    if (args.quota !== undefined) {
      try {
        quota = parseSize(args.quota);
      } catch (err) {
        throw new UserError(`--quota: ${(err as Error).message}`, EXIT.USAGE);
      }
    }
    const r = await controlRequest<{ code: string; expiresAt: number; addrs: string[]; id: string }>(dataDir(args), {
      op: 'invite',
      expiresMs,
      quota,
      label: args.name ?? '',
    });
    if (args.json) return printJson(r);
    process.stdout.write(`${r.code}\n`);
    process.stderr.write(
      `Send this code to the other household; they run: lomo-peer join <code>\n` +
        `It works once, until ${formatDateTime(r.expiresAt)} (invite ${r.id}; \`lomo-peer invite cancel ${r.id.slice(0, 8)}\` closes it).\n`,
    );
  },
};

function list(args: InviteArgs): void {
  const rows = withCatalog(args, (db) => listInvites(db, { all: args.all }));
  if (args.json) return printJson(rows);
  if (rows.length === 0) {
    process.stdout.write(args.all ? 'no invitations\n' : 'no open invitations (`--all` lists used and expired ones)\n');
    return;
  }
  printTable(
    ['ID', 'STATE', 'NAME', 'CREATED', 'EXPIRES', 'WRONG PROOFS'],
    rows.map((r) => [r.id, r.state, r.label || '-', formatDateTime(r.createdAt), formatDateTime(r.expiresAt), String(r.failedAttempts)]),
  );
}

async function cancel(args: InviteArgs): Promise<void> {
  if (!args.id) throw new UserError('invite cancel needs an invite id (see `lomo-peer invite list`)', EXIT.USAGE);
  const ref = args.id;
  const ids = withCatalog(args, (db) => findInvites(db, ref));
  if (ids.length === 0) throw new UserError(`no invitation matches "${ref}"; \`lomo-peer invite list --all\` lists them`, EXIT.USAGE);
  if (ids.length > 1) throw new UserError(`"${ref}" matches ${ids.length} invitations; give more of the id`, EXIT.USAGE);
  const id = ids[0]!;
  const dir = dataDir(args);
  // The running node also tells the family, so relays close the window they opened for it.
  const cancelled = (await nodeRunning(dir))
    ? (await controlRequest<{ cancelled: boolean }>(dir, { op: 'invite-cancel', id })).cancelled
    : withCatalog(args, (db) => cancelInvite(db, id));
  if (!cancelled) throw new UserError(`invitation ${id} is not open (already used or cancelled): nothing to cancel`, EXIT.USAGE);
  if (args.json) return printJson({ cancelled: id });
  process.stdout.write(`cancelled invitation ${id}\n`);
}
