import type { CommandModule } from 'yargs';
import { listVolumes, type VolumeRow } from '../../storage/iso/volume-store.js';
import { formatSize } from '../../storage/util/units.js';
import { withCatalog, type GlobalArgs } from '../context.js';
import { formatDateTime, printJson, printTable } from '../output.js';

/** lomob's wording of a volume's state. */
function statusText(status: string): string {
  if (status === 'created') return 'Created, not uploaded';
  if (status === 'uploaded') return 'Uploaded';
  return status.charAt(0).toUpperCase() + status.slice(1);
}

/** Prints every volume as lomob's `list iso` does (or JSON). Shared by `iso list` and `list iso`. */
export function printVolumes(args: GlobalArgs): void {
  withCatalog(
    args,
    (db) => {
      const vols = listVolumes(db);
      if (args.json) return printJson(vols.map(volumeJson));
      printTable(
        ['ID', 'Name', 'Size', 'Status', 'Region', 'Bucket', 'Files Count', 'Create Time', 'Hash'],
        vols.map((v) => [
          String(v.id),
          v.name,
          formatSize(v.size),
          statusText(v.status),
          v.region ?? '',
          v.bucket ?? '',
          String(v.filesCount),
          formatDateTime(v.createdAt),
          v.sha256 ?? '',
        ]),
        [0, 6],
      );
    },
    { create: false },
  );
}

function volumeJson(v: VolumeRow) {
  return {
    id: v.id,
    name: v.name,
    size: v.size,
    status: v.status,
    region: v.region,
    bucket: v.bucket,
    filesCount: v.filesCount,
    createdAt: new Date(v.createdAt).toISOString(),
    sha256: v.sha256,
    localPath: v.localPath,
  };
}

export const listIsoCommand: CommandModule<GlobalArgs, GlobalArgs> = {
  command: 'iso',
  describe: 'List all created volumes (ISO images)',
  builder: (y) => y.example('$0 list iso', 'ID, name, size, status, region, bucket, files count, create time, hash'),
  handler: (args) => printVolumes(args),
};
