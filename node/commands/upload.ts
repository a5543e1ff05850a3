import type { Argv, CommandModule } from 'yargs';
import fs from 'node:fs';
import type { Db } from '../../storage/catalog/db.js';
import { objectForFile, objectForVolume, saveObject, type StoredObject } from '../../storage/objects/catalog.js';
import { ObjectWriter } from '../../storage/objects/writer.js';
import { markPending, sweepPending } from '../../storage/objects/pending.js';
import { stagingFiles } from '../../storage/catalog/library.js';
import { uploadEstimate, usd } from '../../storage/cost/estimate.js';
import { CatalogJournal } from '../../storage/placements/catalog-journal.js';
import { driveKey, nameTokenizer, type NameTokenizer } from '../../storage/naming/drive-names.js';
import { volumeKey } from '../../storage/naming/archive-names.js';
import { FileTier } from '../../storage/tiers/file.js';
import { cipherStream } from '../../storage/tiers/object-copy.js';
import { Pool } from '../../storage/tiers/parts.js';
import { livePlacement, markDeleted, recordPlacement, stagedCopiesArchived } from '../../storage/placements/placements.js';
import { STORAGE_CLASSES, type LomobStorageClass } from '../../storage/tiers/s3.js';
import type { Tier } from '../../storage/tiers/tier.js';
import { formatSize, parseSize } from '../../storage/util/units.js';
import { withCatalog, type GlobalArgs } from '../context.js';
import { EXIT, UserError, reportExit } from '../exit-codes.js';
import { log } from '../log.js';
import { printJson } from '../output.js';
import { unlockSite, withPassphraseOption, type PassphraseArgs } from '../passphrase.js';
import { archiveTierFrom, awsOptions, cloudUserError, driveOptions, interruptible, stagingTierFrom, targetOption, type AwsArgs, type DriveArgs, type TargetArgs } from './cloud-options.js';
import { GDriveTier } from '../../storage/tiers/gdrive.js';
import { S3Tier } from '../../storage/tiers/s3.js';
import { priceBanner, pricesFor } from './cost.js';

interface IsoArgs extends GlobalArgs, AwsArgs, PassphraseArgs, TargetArgs {
  names: string[];
  partSize?: string;
  nthreads: number;
  encrypt: boolean;
  force: boolean;
  storageClass: LomobStorageClass;
  saveParts: boolean;
  prices?: string;
  dryRun: boolean;
}

interface FilesArgs extends GlobalArgs, DriveArgs, PassphraseArgs, TargetArgs {
  nthreads: number;
}

interface VolumeSource {
  id: number;
  name: string;
  key: string;
  size: number;
  sha256?: Buffer;
  /** Encrypted volumes: their chunk size, so that each S3 part is exactly one chunk. */
  chunkSize?: number;
  open: () => NodeJS.ReadableStream;
  manifest?: StoredObject;
}

function volumeSources(db: Db, args: IsoArgs, local: Tier | null, tok: NameTokenizer | null): VolumeSource[] {
  const all = db.prepare('SELECT id, name, size, local_path FROM volumes ORDER BY id').all() as { id: number; name: string; size: number; local_path: Buffer | null }[];
  let chosen = all;
  if (args.names.length) {
    chosen = args.names.map((n) => {
      const v = all.find((x) => x.name === n);
      if (!v) throw new UserError(`no volume named "${n}" in the catalog: see lomo-peer list iso`, EXIT.INPUT);
      return v;
    });
  }
  const out: VolumeSource[] = [];
  for (const v of chosen) {
    const obj = objectForVolume(db, v.id);
    if (args.encrypt) {
      if (!obj || !local) {
        throw new UserError(
          `volume ${v.name} is a plain ISO (made with iso create --no-encrypt): nothing leaves this machine unencrypted unless you pass --no-encrypt`,
          EXIT.USAGE,
        );
      }
      const sizes = obj.chunks.slice(0, -1).map((c) => c.size);
      const chunkSize = sizes.length && sizes.every((x) => x === sizes[0]) && sizes[0]! >= 5 * 1024 * 1024 ? sizes[0] : undefined;
      out.push({ id: v.id, name: v.name, key: volumeKey(db, v, tok), size: obj.cipherSize, sha256: obj.cipherSha256, chunkSize, open: () => cipherStream(local, obj), manifest: objectForVolume(db, v.id, 'manifest') ?? undefined });
    } else {
      if (!v.local_path || !fs.existsSync(v.local_path)) {
        throw new UserError(`volume ${v.name} has no plain image file${v.local_path ? ` (${v.local_path.toString('latin1')} is gone)` : ''}; upload it encrypted (without --no-encrypt)`, EXIT.INPUT);
      }
      const file = v.local_path;
      out.push({ id: v.id, name: v.name, key: volumeKey(db, v, null), size: fs.statSync(file).size, open: () => fs.createReadStream(file) });
    }
  }
  return out;
}

/** `upload iso`: volumes to S3 (Glacier), multipart, resumable, verified before they count. */
const uploadIso: CommandModule<GlobalArgs, IsoArgs> = {
  command: 'iso [names..]',
  describe: 'Upload specified or all iso files',
  builder: (y) =>
    targetOption(withPassphraseOption(awsOptions(y)), 'volumes')
      .positional('names', { type: 'string', array: true, default: [], describe: 'Volume names (default: every volume not uploaded yet)' })
      .option('part-size', {
        alias: 'p',
        type: 'string',
        describe: 'Size of each upload partition. KB=1000 Byte (default: "6M"; for encrypted volumes their chunk size, so every part is one chunk)',
      })
      .option('nthreads', { alias: 'n', type: 'number', default: 3, describe: 'Number of parallel multi part upload' })
      .option('save-parts', { alias: 's', type: 'boolean', default: false, describe: 'Save multiparts locally for debug (accepted for lomob compatibility; parts are never written)' })
      .option('encrypt', { type: 'boolean', default: true, describe: 'Upload the encrypted volume (--no-encrypt: the plain image of an unencrypted volume)' })
      .option('force', { type: 'boolean', default: false, describe: 'force to upload from scratch and not reuse previous upload info' })
      .option('storage-class', { type: 'string', default: 'STANDARD', choices: [...STORAGE_CLASSES], describe: 'The type of storage to use for the object' })
      .option('prices', { type: 'string', describe: 'Price table JSON for the estimate' })
      .option('dry-run', { type: 'boolean', default: false, describe: 'Print what would be uploaded and its cost estimate; send nothing' })
      .example('$0 upload iso --storage-class DEEP_ARCHIVE --dry-run', 'what archiving the new volumes would cost')
      .example('$0 upload iso --storage-class DEEP_ARCHIVE', 'every new volume to Glacier Deep Archive') as unknown as Argv<IsoArgs>,
  handler: (args) =>
    withCatalog(args, async (db) => {
      let partSize: number;
      try {
        partSize = parseSize(args.partSize ?? '6M');
      } catch (e) {
        throw new UserError(`--part-size: ${(e as Error).message}`, EXIT.USAGE);
      }
      if (partSize < 5 * 1024 * 1024) throw new UserError(`--part-size ${args.partSize} is below S3's minimum part of 5 MiB (5242880 bytes): use 6M or more`, EXIT.USAGE);
      if (args.nthreads < 1) throw new UserError('--nthreads must be at least 1', EXIT.USAGE);
      const site = db.prepare('SELECT objects_url FROM site_keys WHERE id = 1').get() as { objects_url: string } | undefined;
      const local = site ? new FileTier(site.objects_url) : null;
      const tier = archiveTierFrom(args, { journal: new CatalogJournal(db), partSize, concurrency: args.nthreads, storageClass: args.storageClass });
      const s3 = tier instanceof S3Tier ? tier : null;
      // Encrypted volumes go under their scan root's name token, which needs the site's keys.
      const tok = args.encrypt && local ? nameTokenizer((await unlockSite(db, args)).keys) : null;
      const sources = volumeSources(db, args, local, tok).filter((s) => {
        const done = livePlacement(db, tier.url, s.key);
        if (done && !args.force && (!s.sha256 || (done.sha256 && done.sha256.equals(s.sha256)))) {
          if (args.names.length) log.info(`${s.name} is already uploaded to ${tier.url} (use --force to upload it again)`);
          return false;
        }
        return true;
      });
      if (!sources.length) {
        log.info('nothing to upload: every volume is already in the bucket');
        if (args.json) printJson({ uploaded: [] });
        return;
      }
      if (s3) {
        const pt = pricesFor(args);
        const est = uploadEstimate(pt.prices, args.storageClass, sources.map((s) => s.size), args.partSize === undefined ? (sources[0]?.chunkSize ?? partSize) : partSize);
        log.info(priceBanner(pt));
        log.info(
          `estimate: ${sources.length} volume(s), ${formatSize(est.bytes)} to ${tier.url} as ${args.storageClass}: ${est.requests} requests ${usd(est.requestCost)}, ` +
            `storage ${usd(est.monthly)}/month${est.minDays ? `, at least ${est.minDays} days (${usd(est.minimumCommitment)})` : ''}`,
        );
      } else log.info(`estimate: ${sources.length} volume(s), ${formatSize(sources.reduce((a, s) => a + s.size, 0))} to the folder tier ${tier.url}: no cloud charges`);
      if (args.dryRun) {
        if (args.json) printJson({ wouldUpload: sources.map((s) => ({ name: s.name, key: s.key, size: s.size })) });
        else for (const s of sources) process.stdout.write(`would upload ${s.name}  ${formatSize(s.size)}  ${tier.url}/${s.key}\n`);
        return;
      }
      const { signal, dispose } = interruptible();
      const uploaded: { name: string; key: string; size: number; storageClass: string; requests: number }[] = [];
      try {
        if (s3) {
          await s3.ensureBucket();
          const orphans = await s3.abortOrphans();
          if (orphans.length) log.info(`aborted ${orphans.length} unfinished upload(s) nobody will resume: ${orphans.join(', ')}`);
        }
        for (const s of sources) {
          if (args.force) await s3?.discardUpload(s.key);
          const before = s3?.requestCount() ?? 0;
          let lastPct = -1;
          const stat = await tier.put(s.key, s.open() as never, {
            size: s.size,
            ...(args.partSize === undefined && s.chunkSize ? { partSize: s.chunkSize } : {}),
            sha256: s.sha256?.toString('hex'),
            signal,
            onProgress: (n) => {
              const pct = Math.floor((n / s.size) * 10) * 10;
              if (pct !== lastPct) log.info(`${s.name}: ${pct}% (${formatSize(n)} of ${formatSize(s.size)})`);
              lastPct = pct;
            },
          });
          if (s.manifest && local) {
            const m = s.manifest;
            const ms = await tier.put(`${s.key}.manifest`, cipherStream(local, m) as never, { size: m.cipherSize, sha256: m.cipherSha256.toString('hex'), signal });
            recordPlacement(db, { volumeId: s.id, tierUrl: tier.url, key: `${s.key}.manifest`, remoteId: ms.id, size: m.cipherSize, sha256: m.cipherSha256, storageClass: ms.storageClass });
          }
          const region = s3 ? String(await s3.client.config.region()) : 'local';
          db.transaction(() => {
            recordPlacement(db, { volumeId: s.id, tierUrl: tier.url, key: s.key, remoteId: stat.id, size: stat.size, sha256: s.sha256, storageClass: stat.storageClass, region });
            db.prepare(`UPDATE volumes SET status = 'uploaded', region = ?, bucket = ? WHERE id = ?`).run(region, s3 ? s3.bucket : tier.url, s.id);
          })();
          const requests = (s3?.requestCount() ?? 0) - before;
          const storageClass = stat.storageClass ?? (s3 ? args.storageClass : 'file');
          log.info(`${s.name}: uploaded and verified (${formatSize(stat.size)}, ${storageClass}` + (s3 ? `, ${requests} requests)` : ')'));
          uploaded.push({ name: s.name, key: s.key, size: stat.size, storageClass, requests });
        }
      } catch (e) {
        if (signal.aborted) throw signal.reason;
        throw cloudUserError(e, 'upload iso');
      } finally {
        dispose();
      }
      if (args.json) printJson({ uploaded, requests: s3 ? Object.fromEntries(s3.requests) : {} });
      else for (const u of uploaded) process.stdout.write(`${u.name}  ${formatSize(u.size)}  ${u.storageClass}  ${tier.url}/${u.key}\n`);
    }),
};

/** Encrypts one staging file into the local object store (or reuses its object). */
async function stagingObject(db: Db, u: Awaited<ReturnType<typeof unlockSite>>, local: FileTier, f: { id: number; path: string; size: number; sha256: string | null }): Promise<StoredObject | null> {
  const have = objectForFile(db, f.id);
  if (have && f.sha256 && have.plainSha256.toString('hex') === f.sha256) return have;
  const w = new ObjectWriter({ sodium: u.sodium, keys: u.keys, tier: local, kind: 'file', maxPlainSize: f.size, onStart: (id) => markPending(db, id, local.url), workers: f.size > 64 * 1024 * 1024 ? 2 : 0 });
  const src = fs.createReadStream(Buffer.from(f.path, 'latin1'));
  await new Promise<void>((resolve, reject) => {
    src.on('error', reject);
    w.on('error', reject);
    w.on('finish', resolve);
    src.pipe(w);
  });
  const rec = await w.result;
  if (f.sha256 && rec.plainSha256.toString('hex') !== f.sha256) {
    log.warn(`${f.path}: changed since the last scan; skipped (run scan, then upload files again)`);
    return null;
  }
  saveObject(db, rec, { fileId: f.id });
  return objectForFile(db, f.id);
}

/**
 * `upload files`: staging files to Drive, encrypted, under name tokens that mirror the tree.
 * First the staging lifecycle: Drive copies of files now inside a verified S3 volume are deleted
 * for good (not to the trash, which counts against the quota).
 */
const uploadFiles: CommandModule<GlobalArgs, FilesArgs> = {
  command: 'files',
  describe: 'Upload individual files not in ISO to google drive',
  builder: (y) =>
    targetOption(withPassphraseOption(driveOptions(y)), 'staging files')
      .option('nthreads', { alias: 'n', type: 'number', default: 4, describe: 'Files uploaded in parallel' })
      .example('$0 upload files', 'stage new photos on Drive until they are archived') as unknown as Argv<FilesArgs>,
  handler: (args) =>
    withCatalog(args, async (db) => {
      const tier = stagingTierFrom(args, { cacheListings: true, journal: new CatalogJournal(db) });
      const gd = tier instanceof GDriveTier ? tier : null;
      const { signal, dispose } = interruptible();
      let uploaded = 0;
      let skipped = 0;
      let removed = 0;
      try {
        for (const p of stagedCopiesArchived(db, tier.url)) {
          if (gd && p.remoteId) await gd.deleteById(p.remoteId);
          else await tier.delete(p.key);
          markDeleted(db, p.id);
          removed++;
        }
        if (removed) {
          await gd?.emptyTrash();
          log.info(`removed ${removed} staged copies of files that are now archived in a verified volume`);
        }
        const files = stagingFiles(db).filter((f) => !(db.prepare(`SELECT 1 FROM placements WHERE file_id = ? AND tier_url = ? AND deleted_at IS NULL`).get(f.id, tier.url)));
        if (!files.length) {
          log.info('nothing to upload: every staging file is on Drive');
        } else {
          const u = await unlockSite(db, args);
          const local = new FileTier(u.site.objectsUrl);
          // What a killed run left in local object stores goes first (storage/objects/pending.ts).
          const swept = await sweepPending(db, (url) => (url.startsWith('file:') ? new FileTier(url) : null));
          if (swept > 0) log.info(`removed the leftovers of ${swept} object(s) an interrupted run had started`);
          const tok = nameTokenizer(u.keys);
          const bytes = files.reduce((a, f) => a + f.size, 0);
          if (gd) {
            const q = await gd.quota();
            log.info(`estimate: ${files.length} file(s), about ${formatSize(bytes)} to ${tier.url}: no charge within the free quota (${q.free === undefined ? 'unlimited' : formatSize(q.free) + ' free'})`);
            await gd.checkQuota(bytes);
          } else log.info(`estimate: ${files.length} file(s), about ${formatSize(bytes)} to the folder tier ${tier.url}: no cloud charges`);
          // Several files in flight: per-file latency, not bandwidth, bounds small-photo uploads.
          const pool = new Pool(Math.max(1, args.nthreads));
          let failure: unknown = null;
          try {
            for (const f of files) {
              if (signal.aborted) break;
              await pool.add(async () => {
                const obj = await stagingObject(db, u, local, f);
                if (!obj) {
                  skipped++;
                  return;
                }
                const key = driveKey(tok, f.rootPath, f.relPath);
                const st = await tier.put(key, cipherStream(local, obj) as never, { size: obj.cipherSize, sha256: obj.cipherSha256.toString('hex'), modifiedAt: new Date(f.mtimeMs), quotaChecked: true, signal });
                recordPlacement(db, { fileId: f.id, tierUrl: tier.url, key, remoteId: st.id, size: st.size, sha256: obj.cipherSha256 });
                uploaded++;
                log.debug(`${f.path} -> ${tier.url}/${key}`);
              });
            }
          } catch (e) {
            failure = e;
          }
          // Nothing may still run once this command returns (the catalog closes): wait for all.
          await pool.drain().catch((e: unknown) => (failure ??= e));
          if (signal.aborted) throw signal.reason;
          if (failure) throw failure;
        }
      } catch (e) {
        if (signal.aborted) throw signal.reason;
        throw cloudUserError(e, 'upload files');
      } finally {
        dispose();
      }
      if (skipped) reportExit(EXIT.PARTIAL);
      if (args.json) printJson({ uploaded, skipped, removedArchived: removed, requests: gd ? Object.fromEntries(gd.requests) : {} });
      else log.info(`${uploaded} file(s) uploaded to ${tier.url}${skipped ? `, ${skipped} skipped` : ''}`);
    }),
};

export const uploadCommand: CommandModule<GlobalArgs, GlobalArgs> = {
  command: 'upload <what>',
  describe: 'Upload packed ISO files or individual files',
  builder: (y: Argv<GlobalArgs>) =>
    y
      .command([uploadIso, uploadFiles] as CommandModule<GlobalArgs, any>[])
      .demandCommand(1, 'Say what to upload: iso or files.')
      .example('$0 upload files', 'stage files not yet in a volume on Google Drive, encrypted')
      .example('$0 upload iso --storage-class DEEP_ARCHIVE', 'archive every volume not uploaded yet in S3 Glacier Deep Archive'),
  handler: () => {},
};

