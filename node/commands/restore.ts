import fs from 'node:fs';
import path from 'node:path';
import type { Argv, CommandModule } from 'yargs';
import type { Db } from '../../storage/catalog/db.js';
import { withCatalog, type GlobalArgs } from '../context.js';
import { EXIT, UserError, reportExit } from '../exit-codes.js';
import { log } from '../log.js';
import { printJson } from '../output.js';
import { ProgressBar } from '../progress.js';
import { unlockSite, withPassphraseOption, type PassphraseArgs, type UnlockedSite } from '../passphrase.js';
import { FileTier } from '../../storage/tiers/file.js';
import { ChunkError, decryptRange, type ReadContext } from '../../storage/objects/reader.js';
import { objectForFile, objectForVolume, type StoredObject } from '../../storage/objects/catalog.js';
import { libraryPath } from '../../storage/objects/manifest.js';
import { placeFile, PlaintextMismatchError, UnsafePathError } from '../../storage/objects/restore.js';
import { TierError } from '../../storage/tiers/tier.js';
import { restoreCloudCommands } from './restore-cloud.js';

/**
 * `restore <what>`: get plaintext back from encrypted objects. Every subcommand unlocks the site
 * first (a wrong passphrase stops before anything is read or written), verifies every chunk and the
 * plaintext SHA-256, and writes only inside --to, atomically. Add subcommands to `restoreCommands`.
 */
interface RestoreArgs extends GlobalArgs, PassphraseArgs {
  to: string;
  objectsDir?: string;
}

interface RestoreFileArgs extends RestoreArgs {
  paths: string[];
}

interface RestoreVolumeArgs extends RestoreArgs {
  name: string;
}

function common<T>(y: Argv<T>): Argv<T & RestoreArgs> {
  return withPassphraseOption(y)
    .option('to', { type: 'string', demandOption: true, describe: 'Folder to restore into (created if missing); nothing is written outside it' })
    .option('objects-dir', { type: 'string', describe: 'Local object store to read (default: the one chosen at init)' }) as unknown as Argv<T & RestoreArgs>;
}

/** The site's local file:// tier: --objects-dir, else the folder recorded by `init`. */
export function localTier(site: UnlockedSite['site'], objectsDir?: string): FileTier {
  return new FileTier(objectsDir ?? site.objectsUrl);
}

/** Maps storage failures to exit codes and messages naming object and chunk. */
function asUserError(e: unknown, what: string): UserError {
  if (e instanceof UserError) return e;
  if (e instanceof ChunkError) return new UserError(`${what}: ${e.message}; nothing was written for it`, EXIT.CORRUPT);
  if (e instanceof PlaintextMismatchError) return new UserError(`${what}: ${e.message}; nothing was written for it`, EXIT.CORRUPT);
  if (e instanceof UnsafePathError) return new UserError(`${what}: ${e.message}`, EXIT.CORRUPT);
  if (e instanceof TierError) return new UserError(`${what}: ${e.message}`, e.kind === 'not-found' ? EXIT.CORRUPT : EXIT.INPUT);
  return e as UserError;
}

/** Creates --to if needed; returns a cleanup that removes it again if this run left it empty. */
function prepareTarget(to: string): () => void {
  const existed = fs.existsSync(to);
  if (existed && !fs.statSync(to).isDirectory()) throw new UserError(`--to ${to} is not a folder`, EXIT.USAGE);
  fs.mkdirSync(to, { recursive: true });
  return () => {
    if (!existed && fs.readdirSync(to).length === 0) fs.rmdirSync(to);
  };
}

interface FileCopy {
  fileId: number;
  libraryPath: Buffer;
  size: number;
  mtimeMs: number;
  sha256: Buffer | null;
  object: StoredObject;
  offset: number;
}

/** The newest version of a library file (or of every file under a folder) that has an encrypted copy. */
function findCopies(db: Db, wanted: string): FileCopy[] {
  const want = Buffer.from(path.resolve(wanted));
  const roots = db.prepare('SELECT id, path FROM scan_roots').all() as { id: number; path: Buffer }[];
  const out = new Map<string, FileCopy>();
  for (const r of roots) {
    const rootPath = r.path.at(-1) === 0x2f ? r.path.subarray(0, -1) : r.path;
    if (!(want.equals(rootPath) || (want.length > rootPath.length && want.subarray(0, rootPath.length).equals(rootPath) && want[rootPath.length] === 0x2f))) continue;
    const files = db
      .prepare(
        `SELECT f.id, f.name, f.size, f.mtime_ms, f.sha256, f.status, d.rel_path, vf.volume_id, vf.offset
         FROM files f JOIN dirs d ON d.id = f.dir_id LEFT JOIN volume_files vf ON vf.file_id = f.id
         WHERE d.root_id = ? AND f.kind = 'file' ORDER BY (f.status = 'current') DESC, f.id DESC`,
      )
      .all(r.id) as { id: number; name: Buffer; size: number; mtime_ms: number; sha256: Buffer | null; rel_path: Buffer; volume_id: number | null; offset: number | null }[];
    for (const f of files) {
      const full = libraryPath(rootPath, f.rel_path, f.name);
      const key = full.toString('latin1');
      if (out.has(key)) continue;
      const exact = full.equals(want);
      const under = full.length > want.length && full.subarray(0, want.length).equals(want) && full[want.length] === 0x2f;
      if (!exact && !under) continue;
      let object: StoredObject | null = null;
      let offset = 0;
      if (f.volume_id !== null) {
        object = objectForVolume(db, f.volume_id);
        offset = f.offset ?? 0;
      }
      if (!object) object = objectForFile(db, f.id);
      if (!object) continue; // this version has no encrypted copy; an older one may
      out.set(key, { fileId: f.id, libraryPath: full, size: f.size, mtimeMs: f.mtime_ms, sha256: f.sha256, object, offset });
    }
  }
  return [...out.values()];
}

export const restoreFileCommand: CommandModule<GlobalArgs, RestoreFileArgs> = {
  command: 'file <paths..>',
  describe: 'Restore library files (or folders) from their encrypted volume or staging copy',
  builder: (y) =>
    common(y)
      .positional('paths', { type: 'string', array: true, describe: 'Library paths as scanned (absolute), files or folders' })
      .example('$0 restore file /home/me/Pictures/a.jpg --to /tmp/r', 'writes /tmp/r/home/me/Pictures/a.jpg') as unknown as Argv<RestoreFileArgs>,
  handler: (args) =>
    withCatalog(args, async (db) => {
      const unlocked = await unlockSite(db, args);
      const ctx: ReadContext = { sodium: unlocked.sodium, keys: unlocked.keys, tier: localTier(unlocked.site, args.objectsDir) };
      const plan = args.paths.map((p) => ({ p, copies: findCopies(db, p) }));
      for (const { p, copies } of plan) {
        if (copies.length === 0) throw new UserError(`no encrypted copy of ${p} in the catalog (is it scanned, and packed by \`iso create\` or staged?)`, EXIT.INPUT);
      }
      const cleanup = prepareTarget(args.to);
      const restored: { path: string; size: number; to: string }[] = [];
      let failed = 0;
      const bar = new ProgressBar({ json: args.json });
      const all = plan.flatMap((x) => x.copies);
      const total = { bytes: all.reduce((s, c) => s + c.size, 0), files: all.length };
      let before = 0;
      let filesDone = 0;
      try {
        for (const { copies } of plan) {
          for (const c of copies) {
            const shown = c.libraryPath.toString();
            const onProgress = (b: number) =>
              bar.update({ label: 'restore', doneBytes: before + b, totalBytes: total.bytes, doneItems: filesDone, totalItems: total.files });
            try {
              const final = await placeFile(args.to, c.libraryPath, { sha256: c.sha256, size: c.size, mtimeMs: c.mtimeMs, onProgress }, (write) =>
                decryptRange(ctx, c.object, c.offset, c.size, write),
              );
              bar.done();
              restored.push({ path: shown, size: c.size, to: final.toString() });
              log.info(`restored ${shown} -> ${final.toString()}`);
            } catch (e) {
              bar.done();
              const ue = asUserError(e, shown);
              if (!(ue instanceof UserError)) throw e;
              log.error(ue.message);
              reportExit(ue.exitCode);
              failed++;
            }
            before += c.size;
            filesDone++;
          }
        }
      } finally {
        cleanup();
      }
      if (args.json) printJson({ restored, failed });
      else log.info(`${restored.length} file(s) restored into ${path.resolve(args.to)}${failed ? `, ${failed} failed` : ''}`);
    }),
};

export const restoreVolumeCommand: CommandModule<GlobalArgs, RestoreVolumeArgs> = {
  command: 'volume <name>',
  describe: 'Decrypt a whole volume back into its plain ISO image',
  builder: (y) =>
    common(y)
      .positional('name', { type: 'string', demandOption: true, describe: 'Volume name as `list iso` shows it' })
      .example('$0 restore volume 2024-04-13--2024-04-20.iso --to /tmp/r', 'writes /tmp/r/2024-04-13--2024-04-20.iso') as unknown as Argv<RestoreVolumeArgs>,
  handler: (args) =>
    withCatalog(args, async (db) => {
      const unlocked = await unlockSite(db, args);
      const vol = db.prepare('SELECT id, name, sha256 FROM volumes WHERE name = ? OR name = ?').get(args.name, `${args.name}.iso`) as
        | { id: number; name: string; sha256: Buffer | null }
        | undefined;
      if (!vol) throw new UserError(`no volume named ${args.name} in the catalog (see \`lomo-peer list iso\`)`, EXIT.INPUT);
      const object = objectForVolume(db, vol.id);
      if (!object) throw new UserError(`volume ${vol.name} has no encrypted object (made with --no-encrypt?)`, EXIT.INPUT);
      const ctx: ReadContext = { sodium: unlocked.sodium, keys: unlocked.keys, tier: localTier(unlocked.site, args.objectsDir) };
      const cleanup = prepareTarget(args.to);
      const fileName = vol.name.endsWith('.iso') ? vol.name : `${vol.name}.iso`;
      const bar = new ProgressBar({ json: args.json });
      const onProgress = (b: number) => bar.update({ label: 'restore', doneBytes: b, totalBytes: object.plainSize, doneItems: b === object.plainSize ? 1 : 0, totalItems: 1 });
      try {
        const final = await placeFile(args.to, Buffer.from(fileName), { sha256: object.plainSha256, size: object.plainSize, onProgress }, (write) =>
          decryptRange(ctx, object, 0, object.plainSize, write),
        );
        bar.done();
        if (vol.sha256 && !vol.sha256.equals(object.plainSha256)) log.warn(`volume ${vol.name}: catalog image hash differs from its object's plaintext hash`);
        if (args.json) printJson({ volume: vol.name, to: final.toString(), size: object.plainSize, sha256: object.plainSha256.toString('hex') });
        else log.info(`restored volume ${vol.name} -> ${final.toString()}`);
      } catch (e) {
        bar.done();
        throw asUserError(e, `volume ${vol.name}`);
      } finally {
        cleanup();
      }
    }),
};

/** `restore <what>`: one subcommand per source. Add new ones to this array. */
const restoreCommands: CommandModule<any, any>[] = [restoreFileCommand, restoreVolumeCommand, ...restoreCloudCommands];

export const restoreCommand: CommandModule<GlobalArgs, GlobalArgs> = {
  command: 'restore <what>',
  describe: 'Restore files or whole volumes from encrypted objects',
  builder: (y: Argv<GlobalArgs>) =>
    y
      .command(restoreCommands)
      .demandCommand(1, 'Say what to restore.')
      .example('$0 restore file ~/Pictures/2024/a.jpg --to /tmp/back', 'one file from its volume, verified')
      .example('$0 restore aws 2024-04-13--2024-04-20.iso back.iso', 'a whole volume from S3/Glacier'),
  handler: () => {},
};
