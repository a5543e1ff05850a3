import type { Argv, CommandModule } from 'yargs';
import path from 'node:path';
import fs from 'node:fs';
import { importLomob, isLomobCatalog, LomobImportError } from '../../storage/lomob/catalog.js';
import { displayPath } from '../../storage/util/bytes-path.js';
import { withCatalog, type GlobalArgs } from '../context.js';
import { EXIT, UserError } from '../exit-codes.js';
import { log } from '../log.js';
import { printJson } from '../output.js';

interface ImportLomobArgs extends GlobalArgs {
  lomobDb: string;
}

/** `import lomob [<lomob.db>]`: lomob's scan roots, files, volumes and upload state into this catalog. */
const importLomobCommand: CommandModule<GlobalArgs, ImportLomobArgs> = {
  command: 'lomob [lomob-db]',
  describe: "Bring a lomob catalog's folders, files, volumes and upload state into this catalog (lomob's file is only read)",
  builder: (y) =>
    y
      .positional('lomob-db', { type: 'string', default: 'lomob.db', describe: "lomob's catalog" })
      .example('$0 --db lomo-peer.db import lomob ~/lomob/lomob.db', 'move in from lomob; run it again at any time, it adds only what is new')
      .epilogue('Both tools name their catalog lomob.db: give lomo-peer its own with --db, and use that --db from then on.') as unknown as Argv<ImportLomobArgs>,
  handler: (args) => {
    const source = path.resolve(args.lomobDb);
    if (!fs.existsSync(source)) throw new UserError(`no lomob catalog at ${source}: name it (lomo-peer import lomob <path/to/lomob.db>)`, EXIT.INPUT);
    if (!isLomobCatalog(source)) throw new UserError(`${source} is not a lomob catalog (lomob's tables dirs, files and isos are missing)`, EXIT.INPUT);
    if (path.resolve(args.db) === source) {
      throw new UserError(`the lomo-peer catalog must be another file than lomob's ${source}: pass --db <new catalog>, e.g. lomo-peer --db lomo-peer.db import lomob ${args.lomobDb}`, EXIT.USAGE);
    }
    return withCatalog(args, (db) => {
      let r;
      try {
        r = importLomob(source, db);
      } catch (e) {
        if (e instanceof LomobImportError) throw new UserError(`import lomob: ${e.message}; nothing was imported`, EXIT.INPUT);
        throw e;
      }
      if (args.json) {
        printJson({ ...r, onDrive: r.onDrive.map((f) => ({ path: displayPath(f.path), cipherSha256: f.cipherSha256?.toString('hex') ?? null })) });
        return;
      }
      log.info(`imported from ${source}: ${r.scanRoots} scan root(s), ${r.dirs} folder(s), ${r.files} file version(s), ${r.volumes} volume(s), ${r.uploadParts} upload part(s)`);
      if (r.superseded) log.warn(`${r.superseded} lomob file version(s) differ from what this catalog already had at the same path: kept as older versions`);
      if (r.onDrive.length) log.info(`${r.onDrive.length} file(s) lomob staged on Google Drive stay staging files here (lomob kept no Drive file id)`);
      for (const u of r.unfinishedUploads) log.warn(`lomob left an unfinished upload of ${u.volume} (s3://${u.bucket}/${u.key}, upload id ${u.uploadId}): lomo-peer does not resume it; abort it with lomob util abort-upload or a lifecycle rule`);
      if (!r.files && !r.volumes && !r.scanRoots && !r.dirs) log.info('nothing new: this catalog already has everything from that lomob catalog');
    });
  },
};

export const importCommand: CommandModule<GlobalArgs, GlobalArgs> = {
  command: 'import <from>',
  describe: 'Bring another tool\'s catalog into this one (lomob)',
  builder: (y: Argv<GlobalArgs>) =>
    y
      .command([importLomobCommand] as CommandModule<GlobalArgs, any>[])
      .demandCommand(1, 'Say what to import: lomob.')
      .example('$0 --db lomo-peer.db import lomob lomob.db', "lomob's folders, files, volumes and upload state into lomo-peer.db"),
  handler: () => {},
};
