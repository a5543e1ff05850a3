import type { Argv, CommandModule } from 'yargs';
import path from 'node:path';
import { catalogSummary } from '../../storage/cost/catalog-summary.js';
import { usd, GB } from '../../storage/cost/estimate.js';
import { loadPrices, type PriceTable } from '../../storage/cost/prices.js';
import { costReport } from '../../storage/cost/report.js';
import { STORAGE_CLASSES } from '../../storage/tiers/s3-classes.js';
import { formatSize, parseSize } from '../../storage/util/units.js';
import { dataDir, withCatalog, type GlobalArgs } from '../context.js';
import { EXIT, UserError } from '../exit-codes.js';
import { printJson, printTable } from '../output.js';

interface CostArgs extends GlobalArgs {
  storageClass: string;
  partSize: string;
  prices?: string;
  restoreTier: 'Standard' | 'Bulk';
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

/** `lomo-peer cost`: prints the cost report (storage/cost/report.ts) as tables or JSON. */
export const costCommand: CommandModule<GlobalArgs, CostArgs> = {
  command: 'cost',
  describe: 'Projected monthly and one-off cloud costs for what the catalog holds',
  builder: (y: Argv<GlobalArgs>) =>
    y
      .option('storage-class', { type: 'string', default: 'DEEP_ARCHIVE', choices: [...STORAGE_CLASSES], describe: 'Class assumed for volumes not uploaded yet' })
      .option('part-size', { alias: 'p', type: 'string', default: '6M', describe: 'Multipart part size assumed for pending uploads. KB=1000 Byte' })
      .option('prices', { type: 'string', describe: 'Price table JSON (default: <data-dir>/prices.json if present, else built-in)' })
      .option('restore-tier', { type: 'string', default: 'Bulk', choices: ['Bulk', 'Standard'] as const, describe: 'Retrieval tier for the restore estimate' })
      .example('$0 cost', 'what the archive costs per month and what is still to pay')
      .example('$0 cost --json', 'the same as JSON') as unknown as Argv<CostArgs>,
  handler: (args) =>
    withCatalog(
      args,
      (db) => {
        const pt = pricesFor(args);
        const p = pt.prices;
        let partSize: number;
        try {
          partSize = parseSize(args.partSize);
        } catch (e) {
          throw new UserError(`--part-size: ${(e as Error).message}`, EXIT.USAGE);
        }
        const r = costReport(catalogSummary(db), p, { storageClass: args.storageClass, partSize, restoreTier: args.restoreTier });
        const out = { prices: { asOf: p.asOf, region: p.region, source: pt.source }, ...r };
        const { current: monthly, afterPendingUploads: totalMonthly } = r.monthly;
        const { pendingUpload: pending, earlyDeletionIfDeletedNow: early, restoreAll: restore } = r;
        if (args.json) return printJson(out);
        console.log(priceBanner(pt));
        console.log('\nMonthly (projected):');
        printTable(
          ['Tier', 'Objects', 'Size', 'Per month'],
          [...monthly.map((m) => [m.tier, String(m.objects), formatSize(m.bytes), usd(m.monthly)]), ['after pending uploads', '', '', usd(totalMonthly)]],
          [1, 2, 3],
        );
        console.log('\nOne-off:');
        printTable(
          ['What', 'Detail', 'Cost'],
          [
            [`upload ${pending.objects} pending volume(s) as ${args.storageClass}`, `${formatSize(pending.bytes)}, ${pending.requests} requests`, usd(pending.requestCost)],
            [`minimum ${pending.minDays}-day storage of those`, 'billed even if deleted earlier', usd(pending.minimumCommitment)],
            ['delete every archived copy now', 'early-deletion fees', usd(early)],
            [`restore everything (${restore.tier}, ~${restore.hours} h)`, `${(restore.bytes / GB).toFixed(2)} GB retrieval + egress`, usd(restore.total)],
          ],
          [2],
        );
        console.log(`\nStaging: ${r.staging.files} files (${formatSize(r.staging.bytes)}) not in a volume, ${r.staging.onDrive} of them on Drive.`);
      },
      { create: false },
    ),
};
