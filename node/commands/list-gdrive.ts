import type { Argv, CommandModule } from 'yargs';
import { mirrorSegments } from '../../storage/naming/drive-names.js';
import type { DriveEntry } from '../../storage/tiers/gdrive.js';
import { displayPath } from '../../storage/util/bytes-path.js';
import { withCatalog, type GlobalArgs } from '../context.js';
import { formatDate, printJson } from '../output.js';
import { cloudUserError, driveOptions, targetOption, type DriveArgs, type TargetArgs } from './cloud-args.js';
import type { GDriveTier } from '../../storage/tiers/gdrive.js';
import type { Tier } from '../../storage/tiers/tier.js';
import { driveCopies } from './restore-cloud.js';

interface ListDriveArgs extends GlobalArgs, DriveArgs, TargetArgs {}

interface Row {
  path: string[];
  isFolder: boolean;
  size: number;
  mtimeMs?: number;
  plain?: string;
  cipher?: string;
}

/**
 * `list gdrive`, lomob's tree: `[ size mm/dd/yyyy plain6 cipher6] name` for files, `[ mm/dd/yyyy] name`
 * for folders. Drive holds name tokens only (drive-names.ts); the catalog's placements turn them
 * back into the library's names. Entries the catalog does not know keep their token.
 */
export const listGdriveCommand: CommandModule<GlobalArgs, ListDriveArgs> = {
  command: 'gdrive',
  describe: 'List files in google drive in tree view',
  builder: (y) => targetOption(driveOptions(y), 'staging files (list that folder tier)').example('$0 list gdrive', 'size, mtime, plaintext and ciphertext hash prefixes of every staged file') as unknown as Argv<ListDriveArgs>,
  handler: (args) =>
    withCatalog(args, async (db) => {
      // The Google client loads only now: other `list` subcommands stay light.
      const tier = (await import('./cloud-options.js')).stagingTierFrom(args);
      const names = new Map<string, string>(); // token path -> plaintext segment
      const plain = new Map<string, { sha?: string; size: number; mtimeMs: number; cipher?: string }>();
      for (const c of driveCopies(db, tier.url)) {
        const toks = c.placement.key.split('/');
        const segs = mirrorSegments(c.rootPath, c.relPath);
        if (toks.length !== segs.length) continue;
        toks.forEach((_, i) => names.set(toks.slice(0, i + 1).join('/'), segs[i]!));
        plain.set(c.placement.key, { sha: c.sha256?.toString('hex'), size: c.size, mtimeMs: c.mtimeMs, cipher: c.placement.sha256?.toString('hex') });
      }
      const rows: Row[] = [];
      try {
        for await (const e of tier.kind === 'gdrive' ? (tier as GDriveTier).walk() : folderWalk(tier)) {
          const toks = e.path.split('/');
          const shown = toks.map((t, i) => names.get(toks.slice(0, i + 1).join('/')) ?? t);
          // lomob prints the file's own size; Drive holds the (slightly larger) ciphertext.
          const known = plain.get(e.path);
          rows.push({ path: shown, isFolder: e.isFolder, size: known?.size ?? e.size, mtimeMs: known?.mtimeMs ?? e.modifiedAt?.getTime(), plain: known?.sha, cipher: e.sha256 ?? known?.cipher });
        }
      } catch (e) {
        throw cloudUserError(e, 'list gdrive');
      }
      if (args.json) {
        return printJson(rows.map((r) => ({ path: r.path.map(displayPath).join('/'), folder: r.isFolder, size: r.size, modified: r.mtimeMs, plainSha256: r.plain, cipherSha256: r.cipher })));
      }
      process.stdout.write(renderDriveTree(args.folder, rows));
    }),
};

/** A folder tier has no folder objects: folders are the key prefixes of its files. */
async function* folderWalk(tier: Tier): AsyncIterable<DriveEntry> {
  const seen = new Set<string>();
  for await (const o of tier.list('')) {
    const segs = o.key.split('/');
    for (let i = 1; i < segs.length; i++) {
      const dir = segs.slice(0, i).join('/');
      if (!seen.has(dir)) {
        seen.add(dir);
        yield { path: dir, id: dir, isFolder: true, size: 0 };
      }
    }
    yield { path: o.key, id: o.key, isFolder: false, size: o.size, modifiedAt: o.modifiedAt, sha256: o.sha256 };
  }
}

export function renderDriveTree(top: string, rows: Row[]): string {
  interface N { name: string; row?: Row; kids: Map<string, N> }
  const root: N = { name: top, kids: new Map() };
  for (const r of rows) {
    let n = root;
    for (const seg of r.path) {
      let k = n.kids.get(seg);
      if (!k) n.kids.set(seg, (k = { name: seg, kids: new Map() }));
      n = k;
    }
    n.row = r;
  }
  const lines = [top];
  const walk = (n: N, indent: string) => {
    const kids = [...n.kids.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    kids.forEach((k, i) => {
      const last = i === kids.length - 1;
      const r = k.row;
      const date = r?.mtimeMs !== undefined ? formatDate(r.mtimeMs) : '';
      const label = !r || r.isFolder ? `[ ${date}]` : `[ ${r.size} ${date} ${(r.plain ?? '------').slice(0, 6)} ${(r.cipher ?? '------').slice(0, 6)}]`;
      lines.push(`${indent}${last ? '└── ' : '├── '}${label} ${displayPath(k.name)}`);
      walk(k, indent + (last ? '    ' : '│   '));
    });
  };
  walk(root, '');
  return lines.join('\n') + '\n';
}
