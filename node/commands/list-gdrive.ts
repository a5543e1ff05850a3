import type { Argv, CommandModule } from 'yargs';
import { renderTree } from '../tree.js';
import { listStaged, type StagedEntry } from '../../storage/jobs/list-staged.js';
import { displayPath } from '../../storage/util/bytes-path.js';
import { withCatalog, type GlobalArgs } from '../context.js';
import { formatDate, printJson } from '../output.js';
import { cloudUserError, driveOptions, targetOption, type DriveArgs, type TargetArgs } from './cloud-args.js';

interface ListDriveArgs extends GlobalArgs, DriveArgs, TargetArgs {}

type Row = StagedEntry;

/**
 * `list gdrive`, lomob's tree: `[ size mm/dd/yyyy plain6 cipher6] name` for files, `[ mm/dd/yyyy] name`
 * for folders, in the library's names (storage/jobs/list-staged.ts).
 */
export const listGdriveCommand: CommandModule<GlobalArgs, ListDriveArgs> = {
  command: 'gdrive',
  describe: 'List files in google drive in tree view',
  builder: (y) => targetOption(driveOptions(y), 'staging files (list that folder tier)').example('$0 list gdrive', 'size, mtime, plaintext and ciphertext hash prefixes of every staged file') as unknown as Argv<ListDriveArgs>,
  handler: (args) =>
    withCatalog(args, async (db) => {
      // The Google client loads only now: other `list` subcommands stay light.
      const tier = await (await import('./cloud-options.js')).stagingTierFrom(args);
      let rows: Row[];
      try {
        rows = await listStaged(db, tier);
      } catch (e) {
        throw cloudUserError(e, 'list gdrive');
      }
      if (args.json) {
        return printJson(rows.map((r) => ({ path: r.path.map(displayPath).join('/'), folder: r.isFolder, size: r.size, modified: r.mtimeMs, plainSha256: r.plain, cipherSha256: r.cipher })));
      }
      process.stdout.write(renderDriveTree(args.folder, rows));
    }),
};

export function renderDriveTree(top: string, rows: Row[]): string {
  const items = rows.map((r) => ({ ...r, path: r.path.join('/') }));
  return renderTree(top, items, (r, isDir) => {
    const date = r?.mtimeMs !== undefined ? formatDate(r.mtimeMs) : '';
    return isDir ? `[ ${date}]` : `[ ${r!.size} ${date} ${(r!.plain ?? '------').slice(0, 6)} ${(r!.cipher ?? '------').slice(0, 6)}]`;
  }, (r) => r.isFolder);
}
