import fs from 'node:fs';
import path from 'node:path';
import type { Argv, CommandModule } from 'yargs';
import { dataDir, withCatalog, type GlobalArgs } from '../context.js';
import { loadOrCreateIdentity } from '../identity.js';
import { EXIT, UserError } from '../exit-codes.js';
import { getPassphrase, withPassphraseOption, type PassphraseArgs } from '../passphrase.js';
import { printJson } from '../output.js';
import { log } from '../log.js';
import { RECOVERY_KIT_FILE } from '../local-files.js';
import { loadSodium } from '../../storage/crypto/sodium.js';
import { DEFAULT_MEMLIMIT, DEFAULT_OPSLIMIT, MIN_MEMLIMIT, deriveSiteKeys, newKdfParams } from '../../storage/crypto/keys.js';
import { formatRecoveryKit, type RecoveryKit } from '../../storage/crypto/recovery-kit.js';
import { loadSiteKeys, saveSiteKeys } from '../../storage/objects/catalog.js';
import { FileTier } from '../../storage/tiers/file.js';
import { FORMAT_VERSION } from '../../storage/objects/format.js';
import { parseSize } from '../../storage/util/units.js';
import { startLocalLog } from '../../storage/sitelog/local-log.js';
import { signingKeyOf } from '../site-log.js';

export { RECOVERY_KIT_FILE };

interface InitArgs extends GlobalArgs, PassphraseArgs {
  objectsDir?: string;
  kdfMemory: string;
  kdfPasses: number;
}

/** The local object store: --objects-dir, else `<data-dir>/objects`. */
export function defaultObjectsDir(args: GlobalArgs): string {
  return path.join(dataDir(args), 'objects');
}

export const initCommand: CommandModule<GlobalArgs, InitArgs> = {
  command: 'init',
  describe: 'Create this site: identity, passphrase-derived keys, and a printable recovery kit',
  builder: (y: Argv<GlobalArgs>) =>
    withPassphraseOption(y)
      .option('objects-dir', { type: 'string', describe: 'Folder of the local encrypted object store (default <data-dir>/objects); a NAS mount works' })
      .option('kdf-memory', { type: 'string', default: '64MiB', describe: 'Argon2id memory (at least 64MiB)' })
      .option('kdf-passes', { type: 'number', default: DEFAULT_OPSLIMIT, describe: 'Argon2id passes (opslimit)' })
      .example('$0 init', 'asks for the passphrase twice and prints the recovery kit')
      .example('LOMOB_MASTER_KEY=... $0 init --objects-dir /mnt/nas/lomo', 'non-interactive, objects on a NAS') as unknown as Argv<InitArgs>,
  handler: async (args) => {
    const memlimit = parseSizeArg(args.kdfMemory);
    if (memlimit < MIN_MEMLIMIT) throw new UserError(`--kdf-memory must be at least 64MiB (got ${args.kdfMemory})`, EXIT.USAGE);
    if (!Number.isInteger(args.kdfPasses) || args.kdfPasses < 1) throw new UserError('--kdf-passes must be a whole number >= 1', EXIT.USAGE);
    const dir = dataDir(args);
    await withCatalog(args, async (db) => {
      const existing = loadSiteKeys(db);
      if (existing) {
        throw new UserError(
          `this site is already initialized (site id ${existing.siteId}); its recovery kit is ${path.join(dir, RECOVERY_KIT_FILE)}. ` +
            'A second init would make a new key and orphan every object.',
          EXIT.USAGE,
        );
      }
      const passphrase = await getPassphrase(args, { confirm: true });
      const sodium = await loadSodium();
      const identity = await loadOrCreateIdentity(dir);
      const kdf = newKdfParams(sodium, args.kdfPasses, memlimit ?? DEFAULT_MEMLIMIT);
      const started = Date.now();
      const keys = deriveSiteKeys(sodium, passphrase, kdf);
      log.debug(`Argon2id took ${Date.now() - started} ms (${sodium.backend} libsodium)`);
      const objectsDir = path.resolve(args.objectsDir ?? defaultObjectsDir(args));
      fs.mkdirSync(objectsDir, { recursive: true, mode: 0o700 });
      const kit: RecoveryKit = {
        siteId: identity.siteId,
        formatVersion: FORMAT_VERSION,
        kdf,
        keyCheck: keys.checkValue,
        objectsUrl: new FileTier(objectsDir).url,
        createdAt: Date.now(),
      };
      const text = formatRecoveryKit(kit);
      writeFileAtomic(path.join(dir, RECOVERY_KIT_FILE), text);
      // The site's keys and the start of its signed log (site record, snapshot of what scan recorded so far) commit together.
      db.transaction(() => {
        saveSiteKeys(db, { siteId: kit.siteId, formatVersion: kit.formatVersion, kdf, keyCheck: Buffer.from(kit.keyCheck), objectsUrl: kit.objectsUrl, createdAt: kit.createdAt });
        startLocalLog(db, { sodium, keys, kdf, formatVersion: kit.formatVersion, signing: signingKeyOf(identity.privateKey) });
      })();
      if (args.json) {
        printJson({
          siteId: kit.siteId,
          formatVersion: kit.formatVersion,
          kdf: { alg: kdf.alg, opslimit: kdf.opslimit, memlimit: kdf.memlimit, salt: Buffer.from(kdf.salt).toString('hex') },
          keyCheck: Buffer.from(kit.keyCheck).toString('hex'),
          objects: kit.objectsUrl,
          recoveryKit: path.join(dir, RECOVERY_KIT_FILE),
        });
      } else {
        process.stdout.write(text);
        process.stdout.write(`\n(saved to ${path.join(dir, RECOVERY_KIT_FILE)})\n`);
      }
    });
  },
};

function parseSizeArg(text: string): number {
  try {
    return parseSize(text);
  } catch (e) {
    throw new UserError(`--kdf-memory: ${(e as Error).message}`, EXIT.USAGE);
  }
}

/**
 * temp name, fsync, rename: the kit is either complete or absent. Mode 0600 like every file of the
 * site: the kit holds no secret, but its salt and key check let anyone who reads it guess the
 * passphrase offline (the printed copy is the one to keep).
 */
export function writeFileAtomic(file: string, text: string): void {
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const tmp = `${file}.tmp-${process.pid}`;
  const fd = fs.openSync(tmp, 'w', 0o600);
  try {
    fs.writeSync(fd, text);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, file);
}
