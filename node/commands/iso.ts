/**
 * `iso create | list | dump`: volumes as lomob makes them. The work is done by jobs
 * (storage/jobs/pack-volumes.ts, volume-listing.ts); these handlers parse the arguments, call one
 * job and print its result.
 */
import path from 'node:path';
import type { Argv, CommandModule } from 'yargs';
import { renderTree } from '../tree.js';
import { packVolumes, PackInterrupted } from '../../storage/jobs/pack-volumes.js';
import { volumeListing, type VolumeItem } from '../../storage/jobs/volume-listing.js';
import { displayPath, type ByteString } from '../../storage/util/bytes-path.js';
import { formatSize, parseSize } from '../../storage/util/units.js';
import { withCatalog, type GlobalArgs } from '../context.js';
import { withLoggedCatalog } from '../site-log.js';
import { EXIT, reportExit, UserError } from '../exit-codes.js';
import { userErrorOf } from '../job-errors.js';
import { progressPrinter } from '../job-progress.js';
import { setLogLevel } from '../log.js';
import { formatDate, printJson } from '../output.js';
import { ProgressBar } from '../progress.js';
import { withPassphraseOption, type PassphraseArgs } from '../passphrase-option.js';
import { uploadIso } from './upload.js';

interface CreateArgs extends GlobalArgs, PassphraseArgs {
  encrypt: boolean;
  objectsDir?: string;
  name?: string;
  isoSize: string;
  storeDir?: string;
  partial: boolean;
  debug: boolean;
}

async function createVolumes(args: CreateArgs): Promise<void> {
  let volumeSize: number;
  try {
    volumeSize = parseSize(args.isoSize);
  } catch (err) {
    throw new UserError(`--iso-size: ${(err as Error).message}`, EXIT.USAGE);
  }
  if (volumeSize < 1e6) throw new UserError(`--iso-size must be at least 1MB (got ${args.isoSize})`, EXIT.USAGE);
  const abort = new AbortController();
  const onSignal = () => abort.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  if (args.debug) setLogLevel(Math.max(args.logLevel, 5));
  const bar = new ProgressBar({ json: args.json });
  try {
    await withLoggedCatalog(args, async (db) => {
      const r = await packVolumes(db, {
        volumeSize,
        storeDir: path.resolve(args.storeDir ?? process.cwd()),
        name: args.name,
        partial: args.partial,
        // The passphrase module loads only when a volume is to be encrypted.
        encrypt: args.encrypt ? { objectsDir: args.objectsDir, unlock: async () => (await import('../passphrase.js')).unlockSite(db, args) } : undefined,
        signal: abort.signal,
        onProgress: progressPrinter(bar, 'iso create'),
      });
      bar.done();
      if (r.skippedFiles > 0 || r.notCreated.length > 0) reportExit(EXIT.PARTIAL);
      if (args.json) printJson({ volumes: r.volumes, waitingFiles: r.waitingFiles, waitingBytes: r.waitingBytes, skippedFiles: r.skippedFiles });
      else for (const m of r.volumes) process.stdout.write(`${m.name}  ${formatSize(m.size)}  ${m.files} file(s)  ${m.sha256}\n`);
    });
  } catch (err) {
    bar.done();
    if (abort.signal.aborted) {
      const done = err instanceof PackInterrupted ? err.volumes.length : 0;
      throw new UserError(`interrupted: ${done} volume(s) finished and kept; run iso create again for the rest`, EXIT.INTERRUPTED);
    }
    throw userErrorOf(err);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

/** lomob's tree view: `[ size mm/dd/yyyy] name` for files, `[ mm/dd/yyyy] name` for folders. */
export function renderVolumeTree(items: VolumeItem[]): string {
  return renderTree('/', items, (it, isDir) => {
    const date = it ? formatDate(it.mtimeMs) : '';
    return isDir ? `[ ${date}]` : `[ ${it!.size} ${date}]`;
  }, (it) => it.isDir);
}

async function dumpVolume(args: GlobalArgs & { iso: string }): Promise<void> {
  let items: VolumeItem[];
  try {
    items = await volumeListing(args.iso, (fn) => withCatalog(args, fn, { create: false }));
  } catch (err) {
    throw userErrorOf(err);
  }
  if (args.json) printJson(items.map((i) => ({ path: displayPath(i.path), isDir: i.isDir, size: i.size, mtime: new Date(i.mtimeMs).toISOString() })));
  else process.stdout.write(renderVolumeTree(items));
}

const createCommand: CommandModule<GlobalArgs, CreateArgs> = {
  command: 'create [name]',
  describe: 'Group scanned files that are in no volume yet and write them as ISO images',
  builder: (y: Argv<GlobalArgs>) =>
    withPassphraseOption(y)
      .positional('name', { type: 'string', describe: 'Volume file name; default <oldest file date>--<newest file date>.iso' })
      .option('encrypt', { type: 'boolean', default: true, describe: 'Encrypt on the fly into the site object store; --no-encrypt writes plain .iso files' })
      .option('objects-dir', { type: 'string', describe: 'Object store folder (default: the one chosen at init)' })
      .option('iso-size', { alias: 's', type: 'string', default: '5G', describe: 'Size of each ISO file. KB=1000 Byte' })
      .option('store-dir', { alias: 'p', type: 'string', describe: 'Folder to store the ISOs in (default: the current folder)' })
      .option('partial', { type: 'boolean', default: false, describe: 'Also pack the files that do not fill a whole volume yet' })
      .option('debug', { type: 'boolean', default: false, describe: "Log each file as it is packed and where it sits in the image (lomob's flag; the same as -l 5)" })
      .example('$0 iso create', 'pack every full 5 GB volume into the current folder')
      .example('$0 iso create -s 1G -p /backup/isos --partial', '1 GB volumes, including a last, partly filled one')
      .epilogue(
        'Files wait until they fill a volume, so that unwanted ones can still be deleted; --partial packs them now.\n' +
          'A file larger than the volume size gets a volume of its own. Files changed since the last scan are skipped\n' +
          '(exit code 4). An interrupted run leaves no volume behind; run it again.',
      ) as unknown as Argv<CreateArgs>,
  handler: (args) => createVolumes(args),
};

const listCommand: CommandModule<GlobalArgs, GlobalArgs> = {
  command: 'list',
  describe: 'List all created volumes',
  builder: (y) => y.example('$0 iso list', 'ID, name, size, status, region, bucket, files, create time and hash of every volume').example('$0 iso list --json', 'the same as JSON'),
  handler: async (args) => (await import('./list-iso.js')).printVolumes(args),
};

const dumpCommand: CommandModule<GlobalArgs, GlobalArgs & { iso: string }> = {
  command: 'dump <iso>',
  describe: 'Show the files of one volume as a tree (a volume name, or a path to an .iso file)',
  builder: (y) =>
    y
      .positional('iso', { type: 'string', demandOption: true })
      .example('$0 iso dump 2024-04-13--2024-04-20.iso', 'from the catalog, or from the image if that path exists') as unknown as Argv<GlobalArgs & { iso: string }>,
  handler: (args) => dumpVolume(args),
};

/** lomob's `iso upload`: the same command as `upload iso` (flags, behaviour, exit codes). */
const uploadAlias = { ...uploadIso, command: 'upload [names..]', describe: `${String(uploadIso.describe)} (the same as upload iso)` } as unknown as CommandModule<GlobalArgs, GlobalArgs>;

export const isoCommand: CommandModule<GlobalArgs, GlobalArgs> = {
  command: 'iso <command>',
  describe: 'ISO volume commands: create, list, dump, upload',
  builder: (y: Argv<GlobalArgs>) =>
    y
      .command([createCommand, listCommand, dumpCommand, uploadAlias] as CommandModule<GlobalArgs, any>[])
      .demandCommand(1, 'Say which iso command.')
      .example('$0 iso create', 'pack staging files into 5 GB volumes once enough has accumulated')
      .example('$0 iso dump 2024-04-13--2024-04-20.iso', 'the files of one volume as a tree'),
  handler: () => {},
};
