import type { Argv, CommandModule } from 'yargs';
import { bigFiles, filesInCloud, libraryDirs, stagingFiles } from '../../storage/catalog/library.js';
import { displayPath } from '../../storage/util/bytes-path.js';
import { formatSize, parseSize } from '../../storage/util/units.js';
import { withCatalog, type GlobalArgs } from '../context.js';
import { EXIT, UserError } from '../exit-codes.js';
import { formatDate, formatDateTime, printJson, printTable } from '../output.js';
import { renderTree } from '../tree.js';

/** Listings of the scanned library: `list dirs`, `list bigfiles`, `list files`. */

interface DirsArgs extends GlobalArgs {
  tableView: boolean;
  tree: boolean;
}

export const listDirsCommand: CommandModule<GlobalArgs, DirsArgs> = {
  command: 'dirs',
  describe: 'List all scanned folders',
  builder: (y: Argv<GlobalArgs>) =>
    y
      .option('table-view', { alias: 't', type: 'boolean', describe: "lomob's table: file count, total size, modification time, path" })
      .option('tree', { type: 'boolean', describe: "lomob's tree view of each scan root, with modification dates" })
      .conflicts('table-view', 'tree')
      .example('$0 list dirs', 'every folder with its file count and size')
      .example('$0 list dirs --tree', 'the folders of each scan root as a tree, as lomob shows them')
      .example('$0 list dirs --json', 'the same as JSON') as unknown as Argv<DirsArgs>,
  handler: (args) =>
    withCatalog(
      args,
      (db) => {
        const dirs = libraryDirs(db);
        if (args.json) return printJson(dirs.map((d) => ({ id: d.id, path: displayPath(d.path), files: d.files, size: d.bytes })));
        if (args.tableView) {
          const rows = dirs.filter((d) => d.relPath !== '');
          return printTable(['File Counts', 'Total File Size', 'Mod Time', 'Path'], rows.map((d) => [String(d.files), formatSize(d.bytes), d.mtimeMs === null ? '' : formatDateTime(d.mtimeMs), displayPath(d.path)]), [0, 1]);
        }
        if (args.tree) {
          const roots = [...new Set(dirs.map((d) => d.rootPath))];
          for (const root of roots) {
            const under = dirs.filter((d) => d.rootPath === root && d.relPath !== '').map((d) => ({ path: d.relPath, mtimeMs: d.mtimeMs }));
            process.stdout.write(renderTree(displayPath(root), under, (d) => `[${(d?.mtimeMs == null ? '' : formatDate(d.mtimeMs)).padStart(15)}]`));
          }
          return;
        }
        printTable(['ID', 'Files', 'Size', 'Path'], dirs.map((d) => [String(d.id), String(d.files), formatSize(d.bytes), displayPath(d.path)]), [0, 1, 2]);
      },
      { create: false },
    ),
};

interface BigArgs extends GlobalArgs {
  fileSize: string;
}

export const listBigfilesCommand: CommandModule<GlobalArgs, BigArgs> = {
  command: 'bigfiles',
  describe: 'List big files',
  builder: (y: Argv<GlobalArgs>) =>
    y
      .option('file-size', { alias: 's', type: 'string', default: '50MB', describe: 'Minimum file size in the list. KB=1000 Byte' })
      .example('$0 list bigfiles -s 1GB', 'files of 1 GB and more, biggest first') as unknown as Argv<BigArgs>,
  handler: (args) => {
    let min: number;
    try {
      min = parseSize(args.fileSize);
    } catch (err) {
      throw new UserError(`--file-size: ${(err as Error).message}`, EXIT.USAGE);
    }
    withCatalog(
      args,
      (db) => {
        const files = bigFiles(db, min);
        if (args.json) return printJson(files.map((f) => ({ id: f.id, path: displayPath(f.path), size: f.size, mtime: new Date(f.mtimeMs).toISOString(), sha256: f.sha256 })));
        printTable(['Size', 'Modified', 'Path'], files.map((f) => [formatSize(f.size), formatDateTime(f.mtimeMs), displayPath(f.path)]), [0]);
      },
      { create: false },
    );
  },
};

interface FilesArgs extends GlobalArgs {
  noCloud: boolean;
}

export const listFilesCommand: CommandModule<GlobalArgs, FilesArgs> = {
  command: 'files',
  describe: 'List files not yet in any volume, and whether they are in the cloud',
  builder: (y: Argv<GlobalArgs>) =>
    y
      // lomob's flag name; yargs would read --no-cloud as "cloud: false", so the option is named in full.
      .option('no-cloud', { type: 'boolean', default: false, describe: 'Only the files that are neither in a volume nor in the cloud' })
      .parserConfiguration({ 'boolean-negation': false })
      .example('$0 list files', 'In Cloud (Y/N) and path of every staging file')
      .example('$0 list files --no-cloud', 'only the files that have no copy anywhere yet')
      .example('$0 list files --json', 'the same as JSON') as unknown as Argv<FilesArgs>,
  handler: (args) =>
    withCatalog(
      args,
      (db) => {
        const cloud = filesInCloud(db);
        const files = stagingFiles(db).filter((f) => !args.noCloud || !cloud.has(f.id));
        if (args.json) {
          return printJson(files.map((f) => ({ id: f.id, path: displayPath(f.path), size: f.size, sha256: f.sha256, inCloud: cloud.has(f.id) })));
        }
        printTable(['In Cloud', 'Size', 'Path'], files.map((f) => [cloud.has(f.id) ? 'Y' : 'N', formatSize(f.size), displayPath(f.path)]), [1]);
      },
      { create: false },
    ),
};
