import type { Argv, CommandModule } from 'yargs';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import type { Db } from '../../storage/catalog/db.js';
import { joinPath } from '../../storage/catalog/library.js';
import { restoreEstimate, usd } from '../../storage/cost/estimate.js';
import { objectForFile, objectForVolume, type StoredObject } from '../../storage/objects/catalog.js';
import { ChunkError, decryptObject } from '../../storage/objects/reader.js';
import { ConcatTier } from '../../storage/tiers/object-copy.js';
import { filePlacements, volumePlacements, type Placement } from '../../storage/placements/placements.js';
import { TierError, type ByteRange, type Tier } from '../../storage/tiers/tier.js';
import { fromBuffer } from '../../storage/util/bytes-path.js';
import { formatSize } from '../../storage/util/units.js';
import { withCatalog, type GlobalArgs } from '../context.js';
import { EXIT, UserError, reportExit } from '../exit-codes.js';
import { log } from '../log.js';
import { unlockSite, withPassphraseOption, type PassphraseArgs } from '../passphrase.js';
import { awsOptions, cloudUserError, driveOptions, interruptible, targetOption, type AwsArgs, type DriveArgs, type TargetArgs } from './cloud-args.js';
import type { GDriveTier } from '../../storage/tiers/gdrive.js';
import type { S3Tier } from '../../storage/tiers/s3.js';
import { pricesFor } from './cost.js';

/** The AWS and Google clients load only when a cloud restore runs (restore file stays light). */
const tiers = () => import('./cloud-options.js');

interface AwsRestoreArgs extends GlobalArgs, AwsArgs, PassphraseArgs, TargetArgs {
  volume: string;
  out: string;
  tier?: 'Bulk' | 'Standard';
  days: number;
  wait: boolean;
  poll: number;
  nthreads: number;
  prices?: string;
}

interface DriveRestoreArgs extends GlobalArgs, DriveArgs, PassphraseArgs, TargetArgs {
  file: string;
  out: string;
}

/** Never overwrite: the output must not exist, and its folder must. */
function checkOut(out: string): string {
  const abs = path.resolve(out);
  if (fs.existsSync(abs)) throw new UserError(`${out} already exists: remove it or name another output file`, EXIT.USAGE);
  if (!fs.existsSync(path.dirname(abs))) throw new UserError(`folder ${path.dirname(abs)} does not exist: create it first`, EXIT.USAGE);
  return abs;
}

/**
 * Writes through a temp file next to `out`; `produce` returns the plaintext SHA-256 it verified.
 * Only a verified file is fsynced and renamed into place; anything else is removed.
 */
async function atomicWrite(out: string, produce: (w: Writable) => Promise<Buffer>, expectSha?: Buffer | null): Promise<Buffer> {
  const tmp = path.join(path.dirname(out), `.${path.basename(out)}.${process.pid}.part`);
  const fd = fs.openSync(tmp, 'w', 0o600);
  const w = fs.createWriteStream('', { fd, autoClose: false });
  try {
    const sha = await produce(w);
    await new Promise<void>((resolve, reject) => w.end((e?: Error | null) => (e ? reject(e) : resolve())));
    if (expectSha && !sha.equals(expectSha)) throw new ChunkError('volume', 0, `restored SHA-256 ${sha.toString('hex')} differs from the catalog's ${expectSha.toString('hex')}`);
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    fs.renameSync(tmp, out);
    return sha;
  } catch (e) {
    w.destroy();
    try {
      fs.closeSync(fd);
    } catch {
      /* closed already */
    }
    fs.rmSync(tmp, { force: true });
    throw e;
  }
}

function toUserError(e: unknown, what: string): unknown {
  if (e instanceof ChunkError) return new UserError(`${what}: ${e.message}; nothing was written`, EXIT.CORRUPT);
  return cloudUserError(e, what);
}

/** A Tier view of one cloud file, for ConcatTier (Drive files are addressed by id). */
function singleFile(url: string, get: (range?: ByteRange) => Promise<NodeJS.ReadableStream>): Tier {
  return { kind: 'one', url, get: (_k: string, r?: ByteRange) => get(r) } as unknown as Tier;
}

async function waitForRestore(tier: S3Tier, key: string, args: AwsRestoreArgs, signal: AbortSignal): Promise<boolean> {
  for (;;) {
    const st = await tier.head(key);
    if (!st) throw new UserError(`${key} is no longer in ${tier.url}`, EXIT.CLOUD);
    if (!st.restore?.needed) return true;
    if (!args.wait) return false;
    log.info(`${key}: restore in progress; checking again in ${args.poll} s`);
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(resolve, args.poll * 1000);
      signal.addEventListener('abort', () => (clearTimeout(t), reject(signal.reason)), { once: true });
    });
  }
}

/** `restore aws <volume> <out>`: Glacier restore when needed (estimate first), then ranged parallel download, decrypt, verify. */
const restoreAws: CommandModule<GlobalArgs, AwsRestoreArgs> = {
  command: 'aws <volume> <out>',
  describe: 'Restore ISO files in AWS',
  builder: (y) =>
    targetOption(withPassphraseOption(awsOptions(y)), 'volumes (read them from there)')
      .positional('volume', { type: 'string', demandOption: true, describe: 'iso file name (see list iso)' })
      .positional('out', { type: 'string', demandOption: true, describe: 'output file name' })
      .option('tier', { type: 'string', choices: ['Bulk', 'Standard'] as const, describe: 'Glacier retrieval tier to request (Bulk: ~48 h, cheapest; Standard: ~12 h)' })
      .option('days', { type: 'number', default: 3, describe: 'Days the restored copy stays readable' })
      .option('wait', { type: 'boolean', default: false, describe: 'Poll until the restore is done, then download' })
      .option('poll', { type: 'number', default: 900, describe: 'Seconds between polls with --wait' })
      .option('nthreads', { alias: 'n', type: 'number', default: 3, describe: 'Parallel ranged downloads' })
      .option('prices', { type: 'string', describe: 'Price table JSON for the estimate' })
      .example('$0 restore aws 2024-04-13--2024-04-20.iso v.iso --tier Bulk --wait', 'request a Bulk restore, wait, download') as unknown as Argv<AwsRestoreArgs>,
  handler: (args) =>
    withCatalog(args, async (db) => {
      const out = checkOut(args.out);
      const vol = db.prepare('SELECT id, name, size, sha256 FROM volumes WHERE name = ?').get(args.volume) as { id: number; name: string; size: number; sha256: Buffer | null } | undefined;
      if (!vol) throw new UserError(`no volume named "${args.volume}" in the catalog: see lomo-peer list iso`, EXIT.INPUT);
      const tier = (await tiers()).archiveTierFrom(args, { concurrency: args.nthreads });
      const s3 = tier.kind === 's3' ? (tier as S3Tier) : null;
      const pl = volumePlacements(db, vol.id, '').find((p) => p.tierUrl === tier.url && !p.key.endsWith('.manifest'));
      if (!pl) throw new UserError(`${vol.name} has no copy in ${tier.url}: upload it first (upload iso), or pass the right --awsBucketName`, EXIT.INPUT);
      const rec = objectForVolume(db, vol.id);
      const encrypted = !!rec && !!pl.sha256 && pl.sha256.equals(rec.cipherSha256);
      const { signal, dispose } = interruptible();
      try {
        const st = await tier.head(pl.key);
        if (!st) throw new UserError(`${pl.key} is missing from ${tier.url} although the catalog has it: run a cloud check`, EXIT.CORRUPT);
        if (s3 && st.restore?.needed) {
          const p = pricesFor(args).prices;
          const cls = st.storageClass ?? 'DEEP_ARCHIVE';
          const gets = Math.ceil(st.size / (rec?.chunks[0]?.size || 16 * 1024 * 1024));
          if (!st.restore.ongoing) {
            for (const t of ['Bulk', 'Standard'] as const) {
              const e = restoreEstimate(p, cls, t, st.size, 1, gets);
              log.info(`restore ${t}: ready within ~${e.hours} h, about ${usd(e.total)} (retrieval ${usd(e.retrieval)}, requests ${usd(e.requests)}, egress ${usd(e.egress)}) for ${formatSize(st.size)}`);
            }
            if (!args.tier) {
              log.info(`${vol.name} is in ${cls}: pass --tier Bulk or --tier Standard to request its restore (add --wait to wait and download)`);
              reportExit(EXIT.PARTIAL);
              return;
            }
            await s3.requestRestore(pl.key, { days: args.days, tier: args.tier });
            log.info(`restore requested (${args.tier}, readable for ${args.days} days)`);
          }
          if (!(await waitForRestore(s3, pl.key, args, signal))) {
            log.info(`${vol.name}: restore in progress; run this command again later, or with --wait`);
            reportExit(EXIT.PARTIAL);
            return;
          }
        }
        const sha = await atomicWrite(
          out,
          async (w) => {
            if (encrypted) {
              const u = await unlockSite(db, args);
              return decryptObject({ sodium: u.sodium, keys: u.keys, tier: new ConcatTier(tier, pl.key, rec!, args.nthreads) }, rec!, w);
            }
            const h = createHash('sha256');
            for await (const c of s3 ? s3.getParallel(pl.key, st.size, { concurrency: args.nthreads }) : await tier.get(pl.key)) {
              h.update(c as Buffer);
              if (!w.write(c)) await new Promise<void>((r) => w.once('drain', () => r()));
            }
            return h.digest();
          },
          vol.sha256,
        );
        log.info(`${vol.name} restored to ${args.out} (${formatSize(vol.size)}), SHA-256 ${sha.toString('hex')} verified${s3 ? `; ${s3.requestCount()} requests` : ''}`);
      } catch (e) {
        if (signal.aborted) throw signal.reason;
        throw toUserError(e, `restore aws ${vol.name}`);
      } finally {
        dispose();
      }
    }),
};

/** Live Drive copies with their library paths, for lookups by path. */
export function driveCopies(db: Db, tierUrl: string): { placement: Placement; path: string; sha256: Buffer | null; size: number; mtimeMs: number; rootPath: string; relPath: string }[] {
  const rows = db
    .prepare(
      `SELECT p.id AS pid, f.id AS fid, r.path AS root, d.rel_path AS rel, f.name, f.sha256, f.size, f.mtime_ms
         FROM placements p JOIN files f ON f.id = p.file_id JOIN dirs d ON d.id = f.dir_id JOIN scan_roots r ON r.id = d.root_id
        WHERE p.tier_url = ? AND p.deleted_at IS NULL`,
    )
    .all(tierUrl) as { pid: number; fid: number; root: Buffer; rel: Buffer; name: Buffer; sha256: Buffer | null; size: number; mtime_ms: number }[];
  return rows.map((r) => {
    const rel = fromBuffer(r.rel) === '' ? fromBuffer(r.name) : `${fromBuffer(r.rel)}/${fromBuffer(r.name)}`;
    return {
      placement: filePlacements(db, r.fid, tierUrl).find((p) => p.id === r.pid)!,
      path: joinPath(fromBuffer(r.root), rel),
      sha256: r.sha256,
      size: r.size,
      mtimeMs: r.mtime_ms,
      rootPath: fromBuffer(r.root),
      relPath: rel,
    };
  });
}

/** `restore gdrive <file> <out>`: one staged file back from Drive, decrypted and verified. */
const restoreGdrive: CommandModule<GlobalArgs, DriveRestoreArgs> = {
  command: 'gdrive <file> <out>',
  describe: 'Restore files in google drive',
  builder: (y) =>
    targetOption(withPassphraseOption(driveOptions(y)), 'staging files (read them from there)')
      .positional('file', { type: 'string', demandOption: true, describe: 'library path of the file (as list files / list gdrive show it), or its Drive key' })
      .positional('out', { type: 'string', demandOption: true, describe: 'output file name' })
      .example('$0 restore gdrive ~/Pictures/2024/a.jpg /tmp/a.jpg', 'one staged file back from Drive, decrypted and verified') as unknown as Argv<DriveRestoreArgs>,
  handler: (args) =>
    withCatalog(args, async (db) => {
      const out = checkOut(args.out);
      const tier = (await tiers()).stagingTierFrom(args);
      const gd = tier.kind === 'gdrive' ? (tier as GDriveTier) : null;
      const want = Buffer.from(args.file).toString('latin1');
      const copy = driveCopies(db, tier.url).find((c) => c.path === want || c.path === path.resolve(args.file) || c.placement.key === args.file);
      if (!copy) throw new UserError(`${args.file} has no copy on ${tier.url}: see lomo-peer list gdrive`, EXIT.INPUT);
      const rec: StoredObject | null = objectForFile(db, copy.placement.fileId!);
      if (!rec || !copy.placement.sha256 || !rec.cipherSha256.equals(copy.placement.sha256)) {
        throw new UserError(`the catalog has no encryption record matching the Drive copy of ${args.file}`, EXIT.CORRUPT);
      }
      try {
        const u = await unlockSite(db, args);
        let inner: Tier = tier;
        if (gd) {
          const id = copy.placement.remoteId ?? (await gd.head(copy.placement.key))?.id;
          if (!id) throw new TierError(`${copy.placement.key} is missing from ${tier.url}`, 'not-found');
          inner = singleFile(`${tier.url}/${copy.placement.key}`, (r) => gd.getById(id, r));
        }
        await atomicWrite(out, (w) => decryptObject({ sodium: u.sodium, keys: u.keys, tier: new ConcatTier(inner, copy.placement.key, rec, 3) }, rec, w), copy.sha256);
        log.info(`${copy.path} restored to ${args.out} (${formatSize(rec.plainSize)}), SHA-256 verified`);
      } catch (e) {
        throw toUserError(e, `restore gdrive ${args.file}`);
      }
    }),
};

/** Registered in node/commands/restore.ts's `restoreCommands`. */
export const restoreCloudCommands: CommandModule<any, any>[] = [restoreAws, restoreGdrive];
