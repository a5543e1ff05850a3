import { randomBytes } from 'node:crypto';
import type { Argv, CommandModule } from 'yargs';
import { appendBody } from '../../storage/sitelog/store.js';
import { signingKeyFromSeed } from '../../storage/sitelog/sign.js';
import { dataDir, withCatalog, type GlobalArgs } from '../context.js';
import { EXIT, UserError } from '../exit-codes.js';
import { loadIdentity } from '../identity.js';
import { printJson } from '../output.js';

interface LogAppendArgs extends GlobalArgs {
  count: number;
}

/**
 * `lomo-peer debug log-append --count N` (hidden, for the tests): appends N placement entries
 * ("object gone from tier debug:log-append", for random object ids nothing else names) to this
 * site's log, signed with its identity, in one transaction. The node, running or not, passes them
 * on like any entry; the entries change nothing in any catalog but the logs.
 */
const logAppend: CommandModule<GlobalArgs, LogAppendArgs> = {
  command: 'log-append',
  describe: false,
  builder: (y: Argv<GlobalArgs>) => y.option('count', { type: 'number', default: 1 }) as Argv<LogAppendArgs>,
  handler: (args) => {
    if (!(Number.isSafeInteger(args.count) && args.count >= 1 && args.count <= 1_000_000)) throw new UserError('--count: 1..1000000', EXIT.USAGE);
    const id = loadIdentity(dataDir(args));
    if (!id) throw new UserError('this site has no identity yet: run `lomo-peer node` once', EXIT.INPUT);
    const signing = signingKeyFromSeed(id.privateKey.raw.subarray(0, 32));
    if (!signing.publicKey.equals(id.privateKey.publicKey.raw)) throw new UserError('identity key is not a plain Ed25519 key', EXIT.INTERNAL);
    const keys = { origin: signing.publicKey, signing };
    const head = withCatalog(args, (db) =>
      db.transaction(() => {
        let last = 0;
        for (let i = 0; i < args.count; i++) {
          last = appendBody(db, keys, {
            kind: 'placement',
            body: { owner: signing.publicKey, objectId: randomBytes(16), chunkIndex: null, holder: { tierUrl: 'debug:log-append' }, state: 'gone', verifiedAt: Date.now() },
          }).seq;
        }
        return last;
      })(),
    );
    printJson({ appended: args.count, head });
  },
};

export const debugCommand: CommandModule<GlobalArgs, GlobalArgs> = {
  command: 'debug <tool>',
  describe: false,
  builder: (y: Argv<GlobalArgs>) => y.command(logAppend).demandCommand(1),
  handler: () => {},
};
