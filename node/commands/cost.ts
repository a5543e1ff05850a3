import type { Argv, CommandModule } from 'yargs';
import path from 'node:path';
import { usd, GB } from '../../storage/cost/estimate.js';
import type { StrategyFigures } from '../../storage/cost/per-file.js';
import { RESTORE_DAYS } from '../../storage/cost/restore-plan.js';
import { costReport, type CostReport } from '../../storage/cost/report.js';
import { PLAN_DEFAULT_CLASS } from '../../storage/cost/storage-class.js';
import { classKey, loadPrices, type PriceTable } from '../../storage/cost/prices.js';
import { STORAGE_CLASSES } from '../../storage/tiers/s3-classes.js';
import { formatSize, parseSize } from '../../storage/util/units.js';
import { dataDir, withCatalog, type GlobalArgs } from '../context.js';
import { EXIT, UserError } from '../exit-codes.js';
import { printJson, printTable } from '../output.js';

interface CostArgs extends GlobalArgs {
  storageClass?: string;
  partSize?: string;
  prices?: string;
  restoreTier: 'Standard' | 'Bulk';
  restoreDays: number;
}

/** The price table file: --prices, else <data-dir>/prices.json (if present), else built-in. */
export function pricesFor(args: GlobalArgs & { prices?: string }): { prices: PriceTable; source: string } {
  try {
    return loadPrices(args.prices ?? path.join(dataDir(args), 'prices.json'));
  } catch (e) {
    throw new UserError((e as Error).message, EXIT.USAGE);
  }
}

export function priceBanner(p: { prices: PriceTable; source: string }): string {
  return `Prices: ${p.prices.region}, as of ${p.prices.asOf} (${p.source}; put a prices.json in the data folder or pass --prices to change them)`;
}

/**
 * `lomo-peer cost`: projected monthly and one-off costs from the catalog — storage per tier with
 * the per-object overhead, every request `upload iso` would send for pending volumes, the
 * minimum-duration commitment of cold classes, what a full restore would cost per recorded class,
 * and the lomob README's per-file vs per-volume comparison (docs/cost.md gives each formula).
 */
export const costCommand: CommandModule<GlobalArgs, CostArgs> = {
  command: 'cost',
  describe: 'Projected monthly and one-off cloud costs for what the catalog holds',
  builder: (y: Argv<GlobalArgs>) =>
    y
      .option('storage-class', {
        type: 'string',
        choices: [...STORAGE_CLASSES],
        describe: `Class assumed for volumes not uploaded yet (default: the class the archived volumes use, else ${PLAN_DEFAULT_CLASS})`,
      })
      .option('part-size', {
        alias: 'p',
        type: 'string',
        describe: 'Part size assumed for pending uploads, as upload iso --part-size. KB=1000 Byte (default as upload iso: each encrypted volume\'s chunk, 6M otherwise)',
      })
      .option('prices', { type: 'string', describe: 'Price table JSON (default: <data-dir>/prices.json if present, else built-in)' })
      .option('restore-tier', { type: 'string', default: 'Bulk', choices: ['Bulk', 'Standard'] as const, describe: 'Retrieval tier for the restore estimate' })
      .option('restore-days', { type: 'number', default: RESTORE_DAYS, describe: 'Days the restored copies stay readable (restore aws --days)' })
      .example('$0 cost', 'what the archive costs per month and what is still to pay')
      .example('$0 cost --json', 'the same as JSON') as unknown as Argv<CostArgs>,
  handler: (args) =>
    withCatalog(
      args,
      (db) => {
        const pt = pricesFor(args);
        const p = pt.prices;
        let partOption: number | undefined;
        try {
          partOption = args.partSize === undefined ? undefined : parseSize(args.partSize);
        } catch (e) {
          throw new UserError(`--part-size: ${(e as Error).message}`, EXIT.USAGE);
        }
        if (!(args.restoreDays >= 1)) throw new UserError('--restore-days must be at least 1', EXIT.USAGE);
        const report = costReport(db, p, { storageClass: args.storageClass, partSize: partOption, restoreTier: args.restoreTier, restoreDays: args.restoreDays });
        const out = { prices: { asOf: p.asOf, region: p.region, source: pt.source }, ...report };
        if (args.json) return printJson(out);
        printCost(out, pt, args);
      },
      { create: false },
    ),
};

/** Sizes in the unit the prices are per: GiB (AWS's "GB"). */
const gb = (bytes: number) => `${(bytes / GB).toFixed(2)} GiB`;

function printCost(out: CostReport, pt: { prices: PriceTable; source: string }, args: CostArgs): void {
  const { pendingUpload: pending, restoreAll: restore, plannedStorageClass: planned } = out;
  console.log(priceBanner(pt));
  console.log('\nMonthly (projected):');
  printTable(
    ['Tier', 'Objects', 'Size', 'Per month'],
    [...out.monthly.current.map((m) => [m.tier, String(m.objects), formatSize(m.bytes), usd(m.monthly)]), ['after pending uploads', '', '', usd(out.monthly.afterPendingUploads)]],
    [1, 2, 3],
  );
  console.log('\nOne-off:');
  printTable(
    ['What', 'Detail', 'Cost'],
    [
      [`upload ${pending.volumes} pending volume(s) as ${pending.storageClass}`, `${formatSize(pending.bytes)} in ${pending.objects} objects, ${pending.allRequests} requests`, usd(pending.allRequestCost)],
      [`minimum ${pending.minDays}-day storage of those`, 'billed even if deleted earlier', usd(pending.minimumCommitment)],
      ['delete every archived copy now', 'early-deletion fees', usd(out.earlyDeletionIfDeletedNow)],
      [`restore everything (${restore.tier}, ~${restore.hours} h)`, `${gb(restore.bytes)}: retrieval, requests, ${restore.days}-day copy, egress`, usd(restore.total)],
    ],
    [2],
  );
  if (pending.volumes) {
    console.log(`\nUpload requests (${pending.storageClass}${args.storageClass ? '' : ', the planned class'}; upload iso --storage-class ${planned} sends exactly these):`);
    printTable(
      ['Request', 'Count', '$ per 1,000', 'Cost'],
      [...pending.lines.filter((l) => l.count).map((l) => [l.what, String(l.count), String(l.per1000), usd(l.cost)]), ['total', String(pending.allRequests), '', usd(pending.allRequestCost)]],
      [1, 2, 3],
    );
  }
  if (restore.volumes) {
    console.log(`\nRestore everything (${restore.tier}, copies readable ${restore.days} days):`);
    printTable(
      ['Class', 'Volumes', 'Size', 'Retrieval', 'Requests', 'Restored copy'],
      [
        ...restore.groups.map((g) => [`${g.storageClass}${g.pending ? ' (not uploaded yet: as planned)' : ''}`, String(g.volumes), gb(g.bytes), usd(g.retrieval), usd(g.restoreRequestCost + g.getCost), usd(g.restoredCopy)]),
        [`egress ${restore.egressGB.toFixed(2)} GiB, first ${restore.egressFreeGB} GiB free`, '', '', '', '', usd(restore.egress)],
        ['total', String(restore.volumes), gb(restore.bytes), '', '', usd(restore.total)],
      ],
      [1, 2, 3, 4, 5],
    );
  }
  const c = out.perFileVsPerVolume;
  if (c) {
    console.log(`\nPer file vs per volume (${c.storageClass}, the lomob README's comparison):`);
    const row = (what: string, f: (s: StrategyFigures) => string) => [what, f(c.perFile), f(c.perVolume)];
    printTable(
      ['', `one object per file`, `volumes (lomo-peer)`],
      [
        row('objects', (s) => String(s.objects)),
        row('upload PUT requests', (s) => `${s.uploadRequests}: ${usd(s.uploadCost)}`),
        row('storage per month (with per-object overhead)', (s) => usd(s.monthly)),
        row(`minimum storage (${pt.prices.s3[classKey(c.storageClass)]?.minDays ?? 0} days)`, (s) => usd(s.minimumCommitment)),
        row('a check (one metadata request per object)', (s) => usd(s.checkCost)),
        row(`restore requests (${c.tier})`, (s) => `${s.restoreRequests}: ${usd(s.restoreRequestCost)}`),
      ],
      [1, 2],
    );
  }
  console.log(`\nStaging: ${out.staging.files} files (${formatSize(out.staging.bytes)}) not in a volume, ${out.staging.onDrive} of them on Drive.`);
}
