/**
 * `iso create | list | dump`: volumes as lomob makes them, with our own ISO writer. The image
 * is produced by storage/iso (`buildVolume`); `writeToStore` below is the sink that puts it in
 * the store folder, and `registerVolume` records it once it is complete. Encryption replaces
 * the sink, nothing else.
 */
import fs from 'node:fs';
import path from 'node:path';
import fsp from 'node:fs/promises';
import type { Argv, CommandModule } from 'yargs';
import type { Db } from '../../storage/catalog/db.js';
import { stagingFiles } from '../../storage/catalog/library.js';
import { copyImage } from '../../storage/iso/pump.js';
import { HashRing } from '../../storage/iso/hash-thread.js';
import { planVolumes, rootFolderName, volumeName, type PlanFile } from '../../storage/iso/plan.js';
import { registerVolume, volumeByName, volumeContents, volumeNameTaken, dirTimes } from '../../storage/iso/volume-store.js';
import { buildVolume, SourceChangedError, type BuiltVolume, type VolumeEntry } from '../../storage/iso/writer.js';
import { displayPath, toBuffer, type ByteString } from '../../storage/util/bytes-path.js';
import { formatSize, parseSize } from '../../storage/util/units.js';
import { withCatalog, type GlobalArgs } from '../context.js';
import { EXIT, reportExit, UserError } from '../exit-codes.js';
import { log } from '../log.js';
import { formatDate, printJson } from '../output.js';
import { ProgressBar } from '../progress.js';
import { withPassphraseOption, type PassphraseArgs } from '../passphrase-option.js';
import type { VolumeCrypto } from '../../storage/objects/volume.js';
// The encrypted pipeline (passphrase, keys, object store) and the reader are imported where they
// are used, so that `iso create --no-encrypt` does not load them at start-up.

interface CreateArgs extends GlobalArgs, PassphraseArgs {
  encrypt: boolean;
  objectsDir?: string;
  name?: string;
  isoSize: string;
  storeDir?: string;
  partial: boolean;
}

/** A staging file that passed the pack-time check, with what the writer needs. */
interface Candidate extends PlanFile {
  abs: Buffer;
  mode: number;
  imagePath: ByteString;
}

const PARTIAL_SUFFIX = /^\..+\.(\d+)\.partial$/;

/**
 * The sink: writes the image into <storeDir>/.<name>.<pid>.partial while hashing it, fsyncs,
 * renames it to <storeDir>/<name> and fsyncs the folder. On any failure the temp file is removed.
 * (A sink that consumes a stream, e.g. encryption, uses `vol.stream` instead of `vol.cursor`.)
 */
export async function writeToStore(
  vol: BuiltVolume,
  storeDir: string,
  name: string,
  signal?: AbortSignal,
  ring?: HashRing,
  onProgress?: (bytes: number) => void,
): Promise<{ file: string; sha256: Buffer }> {
  const final = path.join(storeDir, name);
  const tmp = path.join(storeDir, `.${name}.${process.pid}.partial`);
  let sha256: Buffer;
  try {
    let out: fsp.FileHandle;
    try {
      out = await fsp.open(tmp, 'w');
    } catch (err) {
      await ring?.close();
      throw err;
    }
    try {
      // Copied on this thread, SHA-256 on a second one (storage/iso/pump.ts).
      let done = 0;
      const onChunk = onProgress && ((c: Buffer) => onProgress((done += c.length)));
      const r = await copyImage(vol.cursor, out, { sha256: true, ring, signal, syncEvery: 64 << 20, onChunk });
      if (r.bytes !== vol.size) throw new Error(`image ${name} came out at ${r.bytes} bytes, expected ${vol.size}`);
      sha256 = r.sha256!;
      await out.sync();
    } finally {
      await out.close();
    }
    if (fs.existsSync(final)) log.warn(`replacing ${final}: it is not in the catalog (left by an interrupted iso create?)`);
    fs.renameSync(tmp, final);
    const dfd = fs.openSync(storeDir, 'r');
    fs.fsyncSync(dfd);
    fs.closeSync(dfd);
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    throw err;
  }
  return { file: final, sha256 };
}

/**
 * Progress of one volume on the TTY bar (the line above it names the volume): bytes of the image
 * produced so far, and how many of its files lie entirely before that point.
 */
function volumeProgress(bar: ProgressBar, vol: BuiltVolume, entries: VolumeEntry[]): (bytes: number) => void {
  const ends = entries.flatMap((e, i) => (e.kind === 'file' ? [(vol.extents[i]![0]?.offset ?? 0) + e.size] : [])).sort((a, b) => a - b);
  let filesDone = 0;
  return (bytes) => {
    while (filesDone < ends.length && ends[filesDone]! <= bytes) filesDone++;
    bar.update({ label: 'iso create', doneBytes: bytes, totalBytes: vol.size, doneItems: filesDone, totalItems: ends.length }, bytes === vol.size);
  };
}

/** Removes temp images left by a killed `iso create` (their process is gone). */
function removeStaleTemps(storeDir: string): void {
  for (const n of fs.readdirSync(storeDir)) {
    const m = PARTIAL_SUFFIX.exec(n);
    if (!m || !n.endsWith('.iso.' + m[1] + '.partial')) continue;
    const pid = Number(m[1]);
    let alive = pid === process.pid;
    try {
      if (!alive) process.kill(pid, 0);
      alive = true;
    } catch (err) {
      alive = (err as NodeJS.ErrnoException).code === 'EPERM';
    }
    if (!alive) {
      log.info(`removing ${n}, left by an interrupted iso create`);
      fs.rmSync(path.join(storeDir, n), { force: true });
    }
  }
}

/**
 * Staging files that still are what the catalog says (size and mtime); the others are skipped
 * with a warning and wait for the next scan.
 */
function candidates(db: Db): { ok: Candidate[]; skipped: number } {
  const ok: Candidate[] = [];
  let skipped = 0;
  // Two scan roots whose names join to the same folder name get the root id appended.
  const folderOf = new Map<ByteString, ByteString>();
  const used = new Map<ByteString, ByteString>();
  const folder = (root: ByteString) => {
    let f = folderOf.get(root);
    if (f !== undefined) return f;
    f = rootFolderName(root);
    for (let n = 2; used.has(f) && used.get(f) !== root; n++) f = `${rootFolderName(root)}_${n}`;
    used.set(f, root);
    folderOf.set(root, f);
    return f;
  };
  for (const f of stagingFiles(db)) {
    const abs = toBuffer(f.path);
    let st: fs.Stats;
    try {
      st = fs.statSync(abs);
      fs.accessSync(abs, fs.constants.R_OK); // an unreadable file would fail its whole volume later
    } catch (err) {
      log.warn(`skipping ${displayPath(f.path)}: ${(err as NodeJS.ErrnoException).code ?? err}; run scan to record it`);
      skipped++;
      continue;
    }
    if (!st.isFile() || st.size !== f.size || Math.abs(st.mtimeMs - f.mtimeMs) > 0.001) {
      log.warn(`skipping ${displayPath(f.path)}: changed since it was scanned; run scan, then iso create again`);
      skipped++;
      continue;
    }
    ok.push({ id: f.id, rootPath: f.rootPath, relPath: f.relPath, size: f.size, mtimeMs: f.mtimeMs, abs, mode: st.mode & 0o7777, imagePath: `${folder(f.rootPath)}/${f.relPath}` });
  }
  return { ok, skipped };
}

/** Writer entries for one group: its files plus every folder above them, with catalog times. */
function entriesFor(group: Candidate[], times: Map<ByteString, number>): VolumeEntry[] {
  const dirs = new Set<ByteString>();
  for (const f of group) {
    const parts = f.imagePath.split('/');
    for (let i = 1; i < parts.length; i++) dirs.add(parts.slice(0, i).join('/'));
  }
  const newest = Math.max(...group.map((f) => f.mtimeMs));
  const dirEntries: VolumeEntry[] = [...dirs].sort().map((d) => ({ path: d, size: 0, mtimeMs: times.get(d) ?? newest, mode: 0o755, kind: 'dir' }));
  return [...dirEntries, ...group.map((f): VolumeEntry => ({ path: f.imagePath, source: f.abs, size: f.size, mtimeMs: f.mtimeMs, mode: f.mode, kind: 'file' }))];
}

async function createVolumes(args: CreateArgs): Promise<void> {
  let volumeSize: number;
  try {
    volumeSize = parseSize(args.isoSize);
  } catch (err) {
    throw new UserError(`--iso-size: ${(err as Error).message}`, EXIT.USAGE);
  }
  if (volumeSize < 1e6) throw new UserError(`--iso-size must be at least 1MB (got ${args.isoSize})`, EXIT.USAGE);
  const storeDir = path.resolve(args.storeDir ?? process.cwd());
  if (!fs.existsSync(storeDir) || !fs.statSync(storeDir).isDirectory()) {
    throw new UserError(`store folder ${storeDir} does not exist: create it, or pass another with --store-dir/-p`, EXIT.INPUT);
  }
  removeStaleTemps(storeDir);
  const abort = new AbortController();
  const onSignal = () => abort.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const made: { id: number; name: string; file: string; size: number; files: number; sha256: string }[] = [];
  const bar = new ProgressBar({ json: args.json });
  // A plain image's SHA-256 runs on a worker thread; start it now, so that its ~30-50 ms boot
  // overlaps the catalog queries and stat checks below instead of delaying the copy.
  let ring: HashRing | undefined = args.encrypt ? undefined : new HashRing();
  try {
    await withCatalog(args, async (db) => {
      const { ok, skipped } = candidates(db);
      if (skipped > 0) reportExit(EXIT.PARTIAL);
      const plan = planVolumes(ok, volumeSize, args.partial);
      const times = dirTimes(db, rootFolderName);
      // Encrypted on the fly into the site's object store by default (docs/crypto-format.md);
      // a site without keys (no `init` yet) or --no-encrypt gets lomob's plain .iso files.
      let crypto: VolumeCrypto | null = null;
      let objects: typeof import('../../storage/objects/volume.js') | null = null;
      let markPending: ((objectId: Buffer) => void) | undefined;
      let cryptoReady: Promise<VolumeCrypto> | null = null;
      if (args.encrypt && plan.volumes.length > 0) {
        const [{ loadSiteKeys }, { unlockSite }] = await Promise.all([import('../../storage/objects/catalog.js'), import('../passphrase.js')]);
        const site = loadSiteKeys(db);
        if (!site) log.warn('this site has no keys yet (run `lomo-peer init`): writing plain ISO files as with --no-encrypt');
        else {
          // Argon2id runs in the thread pool while the object modules load and the first image is
          // laid out. (Reading the image meanwhile measured no faster, and the KDF's 64 MiB on top
          // of the chunk slots took peak memory past 200 MB.) Nothing is written before the
          // passphrase is checked: a wrong one fails here with exit 6.
          const unlocked = unlockSite(db, args);
          unlocked.catch(() => {}); // awaited through cryptoReady
          const [{ FileTier }, volume, pending] = await Promise.all([
            import('../../storage/tiers/file.js'),
            import('../../storage/objects/volume.js'),
            import('../../storage/objects/pending.js'),
          ]);
          objects = volume;
          const tier = new FileTier(args.objectsDir ?? site.objectsUrl);
          cryptoReady = unlocked.then(async (u) => {
            // What a killed iso create (or upload) left in local object stores goes first.
            const swept = await pending.sweepPending(db, (url) => (url.startsWith('file:') ? new FileTier(url) : null));
            if (swept > 0) log.info(`removed the leftovers of ${swept} object(s) an interrupted run had started`);
            return { sodium: u.sodium, keys: u.keys, tier, siteId: site.siteId };
          });
          cryptoReady.catch(() => {});
          markPending = (id) => pending.markPending(db, id, tier.url);
        }
      }
      for (const group of plan.volumes) {
        const name = volumeName(group, (n) => volumeNameTaken(db, n), args.name);
        const entries = entriesFor(group as Candidate[], times);
        const vol = buildVolume(entries, { volumeId: name.replace(/\.iso$/i, '') });
        if (cryptoReady) {
          crypto = await cryptoReady;
          cryptoReady = null;
        }
        log.info(`creating ${name}: ${group.length} file(s), ${formatSize(vol.size)}`);
        const progress = volumeProgress(bar, vol, entries);
        let written: { file: string | null; sha256: Buffer };
        let object = null;
        try {
          if (crypto) {
            object = await objects!.encryptVolume(crypto, vol, abort.signal, progress, markPending);
            written = { file: null, sha256: object.plainSha256 };
          } else {
            // The ring started above serves the first plain volume; later ones start their own.
            const r = ring;
            ring = undefined;
            written = await writeToStore(vol, storeDir, name, abort.signal, r, progress);
          }
        } catch (err) {
          bar.done();
          if (err instanceof SourceChangedError) {
            log.warn(`${name} not created: ${err.message}; run scan, then iso create again`);
            reportExit(EXIT.PARTIAL);
            continue;
          }
          throw err;
        }
        bar.done();
        const files = entries
          .map((e, i) => ({ e, ext: vol.extents[i]! }))
          .filter(({ e }) => e.kind === 'file')
          .map(({ e, ext }, k) => ({ fileId: group[k]!.id, isoPath: e.path, offset: ext[0]!.offset, length: e.size }));
        const register = (createdAt?: number) => registerVolume(db, { name, size: vol.size, sha256: written.sha256, localPath: written.file, files, createdAt });
        const id = crypto && object ? await objects!.sealEncryptedVolume(db, crypto, object, { name, size: vol.size, files }, register) : register();
        made.push({ id, name, file: written.file ?? `${crypto!.tier.url}/${object!.objectId.toString('hex')}`, size: vol.size, files: files.length, sha256: written.sha256.toString('hex') });
      }
      const waitingBytes = plan.waiting.reduce((s, f) => s + f.size, 0);
      if (plan.waiting.length > 0) {
        log.info(`${plan.waiting.length} file(s), ${formatSize(waitingBytes)}, wait until they fill a ${formatSize(volumeSize)} volume; use --partial to pack them now`);
      }
      if (args.json) printJson({ volumes: made, waitingFiles: plan.waiting.length, waitingBytes, skippedFiles: skipped });
      else for (const m of made) process.stdout.write(`${m.name}  ${formatSize(m.size)}  ${m.files} file(s)  ${m.sha256}\n`);
    });
  } catch (err) {
    if (abort.signal.aborted) throw new UserError(`interrupted: ${made.length} volume(s) finished and kept; run iso create again for the rest`, EXIT.INTERRUPTED);
    throw err;
  } finally {
    await ring?.close();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

interface TreeItem {
  path: ByteString;
  isDir: boolean;
  size: number;
  mtimeMs: number;
}

/** lomob's tree view: `[ size mm/dd/yyyy] name` for files, `[ mm/dd/yyyy] name` for folders. */
export function renderTree(items: TreeItem[]): string {
  interface N { name: ByteString; item?: TreeItem; kids: Map<ByteString, N> }
  const root: N = { name: '', kids: new Map() };
  for (const it of items) {
    let n = root;
    for (const part of it.path.split('/').filter(Boolean)) {
      let k = n.kids.get(part);
      if (!k) n.kids.set(part, (k = { name: part, kids: new Map() }));
      n = k;
    }
    n.item = it;
  }
  const lines = ['/'];
  const walk = (n: N, indent: string) => {
    const kids = [...n.kids.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    kids.forEach((k, i) => {
      const last = i === kids.length - 1;
      const it = k.item;
      const isDir = !it || it.isDir || k.kids.size > 0;
      const date = it ? formatDate(it.mtimeMs) : '';
      const label = isDir ? `[ ${date}]` : `[ ${it!.size} ${date}]`;
      lines.push(`${indent}${last ? '└── ' : '├── '}${label} ${displayPath(k.name)}`);
      walk(k, indent + (last ? '    ' : '│   '));
    });
  };
  walk(root, '');
  return lines.join('\n') + '\n';
}

async function dumpVolume(args: GlobalArgs & { iso: string }): Promise<void> {
  let items: TreeItem[];
  if (fs.existsSync(args.iso) && fs.statSync(args.iso).isFile()) {
    const { IsoFormatError, IsoReader } = await import('../../storage/iso/reader.js');
    let r: import('../../storage/iso/reader.js').IsoReader;
    try {
      r = await IsoReader.open(args.iso);
    } catch (err) {
      if (err instanceof IsoFormatError) throw new UserError(err.message, EXIT.INPUT);
      throw err;
    }
    try {
      items = (await r.list()).map((e) => ({ path: e.path, isDir: e.isDir, size: e.isDir ? 0 : e.size, mtimeMs: e.mtimeMs }));
    } finally {
      await r.close();
    }
  } else {
    items = withCatalog(
      args,
      (db) => {
        const v = volumeByName(db, path.basename(args.iso));
        if (!v) throw new UserError(`no ISO file or volume named ${args.iso}: give a path to an .iso file, or a name from \`lomo-peer iso list\``, EXIT.INPUT);
        const files = volumeContents(db, v.id);
        const times = dirTimes(db, rootFolderName);
        const dirs = new Set<ByteString>();
        for (const f of files) {
          const parts = f.isoPath.split('/');
          for (let i = 1; i < parts.length; i++) dirs.add(parts.slice(0, i).join('/'));
        }
        return [
          ...[...dirs].map((d) => ({ path: d, isDir: true, size: 0, mtimeMs: times.get(d) ?? 0 })),
          ...files.map((f) => ({ path: f.isoPath, isDir: false, size: f.size, mtimeMs: f.mtimeMs })),
        ];
      },
      { create: false },
    );
  }
  if (args.json) printJson(items.map((i) => ({ path: displayPath(i.path), isDir: i.isDir, size: i.size, mtime: new Date(i.mtimeMs).toISOString() })));
  else process.stdout.write(renderTree(items));
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

export const isoCommand: CommandModule<GlobalArgs, GlobalArgs> = {
  command: 'iso <command>',
  describe: 'ISO volume commands: create, list, dump',
  builder: (y: Argv<GlobalArgs>) =>
    y
      .command([createCommand, listCommand, dumpCommand] as CommandModule<GlobalArgs, any>[])
      .demandCommand(1, 'Say which iso command.')
      .example('$0 iso create', 'pack staging files into 5 GB volumes once enough has accumulated')
      .example('$0 iso dump 2024-04-13--2024-04-20.iso', 'the files of one volume as a tree'),
  handler: () => {},
};
