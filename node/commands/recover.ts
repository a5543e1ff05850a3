import type { Argv, CommandModule } from 'yargs';
import { tuneHeap } from '../heap.js';
import fs from 'node:fs';
import path from 'node:path';
import { dataDir, type GlobalArgs } from '../context.js';
import { EXIT, UserError } from '../exit-codes.js';
import { log } from '../log.js';
import { printJson } from '../output.js';
import { asUserError } from '../host/control-api.js';
import { LomoNode } from '../host/lomo-node.js';
import { IDENTITY_FILE } from '../local-files.js';
import { getPassphrase, withPassphraseOption, type PassphraseArgs } from '../passphrase.js';
import { signingKeyOf } from '../site-log.js';
import { inviteCodeOf } from './join.js';
import { findSiteByPassphrase, holdsLog, objectsUrlOf, otherLogCount, recoverSite, storedEntries, type RecoverResult } from '../../storage/sitelog/rebuild.js';
import { keyOfSiteId } from '../../storage/sitelog/site-id.js';
import { WrongPassphraseError } from '../../storage/crypto/keys.js';
import { SiteLogError } from '../../storage/sitelog/errors.js';

interface RecoverArgs extends GlobalArgs, PassphraseArgs {
  code?: string;
  site?: string;
  siteName?: string;
}

/** At most this many log exchanges with the inviter: each may admit logs the next one takes. */
const MAX_FETCH_ROUNDS = 5;

/**
 * `lomo-peer recover [code]`: a household that lost everything gets its catalog back from its
 * family (issue 14, docs/replication.md "Recovering a household"). On a new data folder:
 *
 *   1. join the family through an invite from any surviving member (a new identity);
 *   2. fetch the logs the inviter holds: its own first, which admits the lost household, so the
 *      next round takes the household's log too (or at once with `--site <id>`);
 *   3. find the household's log: the one whose site record's key check the passphrase opens
 *      (one Argon2id run per family member's log), or the one `--site` names;
 *   4. verify it and rebuild the catalog (recoverSite), appending a succession entry signed by the
 *      passphrase's recovery key that names this machine's key: the family puts this machine in
 *      place of the lost one; the succession goes to the inviter before the command ends.
 *
 * Everything happens in a staging folder next to nothing the user owns (the system's temporary
 * folder); only a recovery that succeeded is moved to the data folder. A wrong passphrase, a bad
 * or expired code, or an inviter that cannot prove it issued the code leaves the data folder as it
 * was (the inviter has paired with a throw-away identity then: `peers remove` clears it).
 */
export const recoverCommand: CommandModule<GlobalArgs, RecoverArgs> = {
  command: 'recover [code]',
  describe: 'After losing everything: rebuild this household\'s catalog from its family, with an invite from any member and the passphrase',
  builder: (y: Argv<GlobalArgs>) =>
    withPassphraseOption(
      y
        .positional('code', { type: 'string', describe: 'An invitation code from any family member; `-` or none: read from standard input' })
        .option('site', { type: 'string', describe: 'The lost site\'s id (peer id), if the passphrase should not be tried on every family log' })
        .option('site-name', { type: 'string', describe: 'This site\'s name, shown to the family (stored)' }),
    )
      .example('$0 recover --data-dir ~/.lomo-new', 'paste a code from any family member, then the passphrase')
      .example('LOMOB_MASTER_KEY=... $0 recover - < code.txt', 'code from standard input, passphrase from the environment') as Argv<RecoverArgs>,
  handler: async (args) => {
    tuneHeap();
    const dir = dataDir(args);
    const dbFile = path.resolve(args.db);
    if (fs.existsSync(dbFile) || fs.existsSync(path.join(dir, IDENTITY_FILE))) {
      throw new UserError(`recover needs a new data folder: ${fs.existsSync(dbFile) ? dbFile : path.join(dir, IDENTITY_FILE)} exists (give another --db / --data-dir)`, EXIT.USAGE);
    }
    let origin: Buffer | null = null;
    if (args.site !== undefined) {
      try {
        origin = keyOfSiteId(args.site);
      } catch {
        throw new UserError(`--site: ${JSON.stringify(args.site)} is not a site id (a peer id, 12D3KooW...)`, EXIT.USAGE);
      }
    }
    const { code } = await inviteCodeOf(args.code);
    const passphrase = await getPassphrase(args);

    const staging = fs.mkdtempSync(path.join(process.env.TMPDIR || '/tmp', 'lomo-recover-'));
    fs.chmodSync(staging, 0o700);
    const stagedDb = path.join(staging, 'lomob.db');
    try {
      const t0 = Date.now();
      const node = await LomoNode.start({
        dbFile: stagedDb,
        dataDir: staging,
        listen: [],
        relayClient: true,
        siteName: args.siteName,
        maintenanceMs: 3_600_000,
        recovering: args.site,
      });
      let result: RecoverResult;
      let fetched = 0;
      let pushed = false;
      let objectsUrl = '';
      try {
        try {
          await node.joinDecoded(code, {});
        } catch (err) {
          throw asUserError(err);
        }
        log.info(`paired with ${code.inviterPeerId}; fetching the family's logs`);
        for (let i = 0; i < MAX_FETCH_ROUNDS; i++) {
          const r = await node.exchangeLogs(code.inviterPeerId).catch((err) => {
            throw new UserError(`fetching the family's logs from ${code.inviterPeerId} failed: ${(err as Error).message}`, EXIT.NETWORK);
          });
          fetched += r.received;
          if (r.received === 0) break;
        }
        if (!origin) {
          origin = await findSiteByPassphrase(node.db, passphrase, { exclude: [node.peerId, code.inviterPeerId] });
          if (!origin) {
            const logs = otherLogCount(node.db, [node.peerId, code.inviterPeerId]);
            if (logs === 0) throw new UserError(`${code.inviterPeerId} holds no other household's log: nothing to recover from (did the lost site ever sync with it?)`, EXIT.NETWORK);
            throw new UserError(`wrong passphrase: it opens none of the ${logs} household log(s) ${code.inviterPeerId} holds; nothing was written`, EXIT.WRONG_PASSPHRASE);
          }
        } else if (!holdsLog(node.db, origin)) {
          throw new UserError(`${code.inviterPeerId} does not hold the log of site ${args.site}; nothing was written`, EXIT.NETWORK);
        }
        const o = origin;
        try {
          result = await recoverSite(node.db, {
            entries: { [Symbol.iterator]: () => storedEntries(node.db, o) },
            passphrase,
            successor: signingKeyOf(node.identity.privateKey),
          });
        } catch (err) {
          if (err instanceof WrongPassphraseError) throw new UserError('wrong passphrase for this site\'s log; nothing was written', EXIT.WRONG_PASSPHRASE);
          if (err instanceof SiteLogError) throw new UserError(`the site's log does not verify: ${err.message}; nothing was written`, EXIT.CORRUPT);
          throw err;
        }
        objectsUrl = objectsUrlOf(node.db);
        // The family learns of the succession now (the inviter passes it on to the others).
        try {
          await node.exchangeLogs(code.inviterPeerId);
          pushed = true;
        } catch (err) {
          log.warn(`could not send the succession to ${code.inviterPeerId} (${(err as Error).message}); the node sends it when it runs`);
        }
      } finally {
        await node.stop();
      }
      install(staging, stagedDb, dir, dbFile);
      const out = {
        site: result.siteId,
        peerId: node.peerId,
        inviter: code.inviterPeerId,
        entries: result.entries,
        fetched,
        roots: result.roots,
        dirs: result.dirs,
        files: result.files,
        volumes: result.volumes,
        objects: result.objects,
        placements: result.placements,
        successionSeq: result.successionSeq,
        familyInformed: pushed,
        objectsUrl,
        ms: Date.now() - t0,
      };
      if (args.json) return printJson(out);
      process.stdout.write(
        `recovered household ${result.siteId} from ${code.inviterPeerId}'s copy of its log (${result.entries} entries)\n` +
          `  ${result.roots} scanned folder(s), ${result.dirs} folder(s), ${result.files} file version(s), ${result.volumes} volume(s), ` +
          `${result.objects} encrypted object(s), ${result.placements} cloud/folder copies\n` +
          `  this machine (${node.peerId}) now signs the household's log` +
          (pushed ? '; the family was told\n' : '; the family is told when the node runs\n') +
          `next:\n` +
          `  lomo-peer node --listen ...          run the node: the family learns of this machine, peers send what they hold\n` +
          `  lomo-peer list files                  what the catalog knows\n` +
          `  lomo-peer restore file <path> --to <folder>   objects are read from ${objectsUrl || 'the object folder (--objects-dir)'}` +
          ` and the tiers in the catalog\n`,
      );
    } finally {
      fs.rmSync(staging, { recursive: true, force: true });
    }
  },
};

/** Moves a recovered catalog and identity from the staging folder to where the site lives. */
function install(staging: string, stagedDb: string, dir: string, dbFile: string): void {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  fs.mkdirSync(path.dirname(dbFile), { recursive: true, mode: 0o700 });
  for (const [from, to] of [
    [path.join(staging, IDENTITY_FILE), path.join(dir, IDENTITY_FILE)],
    [stagedDb, dbFile],
  ] as const) {
    fs.copyFileSync(from, `${to}.part`);
    fs.chmodSync(`${to}.part`, 0o600);
    fs.renameSync(`${to}.part`, to);
  }
}

