import os from 'node:os';
import type { Argv, CommandModule } from 'yargs';
import { scan, ScanAborted, type ScanSummary } from '../../storage/scan/scanner.js';
import { formatDuration, formatSize } from '../../storage/util/units.js';
import { type GlobalArgs } from '../context.js';
import { withLoggedCatalog } from '../site-log.js';
import { EXIT, reportExit, UserError } from '../exit-codes.js';
import { log } from '../log.js';
import { printJson } from '../output.js';
import { ProgressBar } from '../progress.js';

interface ScanArgs extends GlobalArgs {
  dirs: string[];
  ignoreFiles: string;
  ignoreDirs: string;
  threads: number;
}

const list = (s: string) => s.split(',').map((x) => x.trim()).filter(Boolean);

export const scanCommand: CommandModule<GlobalArgs, ScanArgs> = {
  command: 'scan <dirs..>',
  describe: 'Scan folders and record their files in the catalog (incremental)',
  builder: (y: Argv<GlobalArgs>) =>
    y
      .positional('dirs', { type: 'string', array: true, demandOption: true, describe: 'Folders to back up' })
      .option('ignore-files', {
        alias: 'if',
        type: 'string',
        default: '.DS_Store,._.DS_Store,Thumbs.db',
        describe: 'File names to skip, comma-separated',
      })
      .option('ignore-dirs', { alias: 'in', type: 'string', default: '.idea,.git,.github', describe: 'Folder names to skip, comma-separated' })
      .option('threads', {
        alias: 't',
        type: 'number',
        default: os.availableParallelism(),
        describe: 'Hashing threads (worker threads; default: number of cores)',
      })
      .example('$0 scan ~/Pictures ~/Videos', 'record both folders; a second run reads only new or changed files')
      .example('$0 scan --in .git,node_modules --json /data/photos', 'skip folders by name; print the summary as JSON')
      .epilogue(
        'Unchanged files (same size, mtime, inode and device) are not read again. Changed files get a new version;\n' +
          'the old one stays in the catalog. Deleted files are marked deleted, never dropped. Symlinks are recorded,\n' +
          'not followed. Unreadable files and folders are reported and skipped (exit code 4); a missing or non-folder\n' +
          'path is reported and the other paths are still scanned (exit code 3). Ctrl-C keeps finished work (130).',
      ) as unknown as Argv<ScanArgs>,
  handler: async (args) => {
    if (!Number.isInteger(args.threads) || args.threads < 1 || args.threads > 256) {
      throw new UserError(`--threads must be a whole number from 1 to 256 (got ${args.threads})`, EXIT.USAGE);
    }
    const bar = new ProgressBar({ json: args.json });
    const abort = new AbortController();
    const onSignal = () => abort.abort();
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    let summary: ScanSummary;
    try {
      summary = await withLoggedCatalog(args, (db) =>
        scan(db, {
          roots: args.dirs,
          ignoreFiles: list(args.ignoreFiles),
          ignoreDirs: list(args.ignoreDirs),
          threads: args.threads,
          signal: abort.signal,
          onProgress: (p) =>
            bar.update({ label: 'scan', doneBytes: p.bytesHashed, totalBytes: p.bytesToHash, doneItems: p.filesHashed, totalItems: p.filesToHash, open: true }),
          onWalked: (root, p) => log.debug(`walked ${root}: ${p.filesToHash} file(s), ${formatSize(p.bytesToHash)} to read`),
          onIssue: (i) => {
            bar.done();
            if (i.kind === 'vanished') log.info(i.message);
            else if (i.kind === 'missing-root' || i.kind === 'not-a-folder' || i.kind === 'nested-root') log.error(i.message);
            else log.warn(i.message);
          },
        }),
      );
    } catch (err) {
      bar.done();
      if (err instanceof ScanAborted) throw new UserError(err.message, EXIT.INTERRUPTED);
      throw err;
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
    bar.done();
    if (args.json) printJson(summary);
    else printSummary(summary);
    if (summary.rootErrors.length > 0) reportExit(EXIT.INPUT);
    else if (summary.skipped.some((s) => s.kind !== 'vanished')) reportExit(EXIT.PARTIAL);
    if (process.env.LOMO_REPORT_RSS === '1') process.stderr.write(`maxrss_kb=${process.resourceUsage().maxRSS}\n`);
  },
};

function printSummary(s: ScanSummary): void {
  const rate = s.seconds > 0 ? s.bytesHashed / s.seconds : 0;
  const lines = [
    `Scanned ${s.roots.length} folder(s) in ${formatDuration(s.seconds)}: ` +
      `${s.newFiles} new, ${s.changedFiles} changed, ${s.unchangedFiles} unchanged, ${s.deletedFiles} deleted` +
      (s.touchedFiles ? `, ${s.touchedFiles} touched (same content)` : ''),
    `Hashed ${s.filesHashed} file(s), ${formatSize(s.bytesHashed)} at ${formatSize(rate)}/s`,
  ];
  const skipped = s.skipped.filter((x) => x.kind !== 'vanished').length;
  if (skipped > 0) lines.push(`${skipped} item(s) skipped (see warnings above); run scan again after fixing them`);
  if (s.rootErrors.length > 0) lines.push(`${s.rootErrors.length} path(s) could not be scanned (see errors above)`);
  process.stdout.write(lines.join('\n') + '\n');
}
