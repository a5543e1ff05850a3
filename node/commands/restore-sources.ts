/**
 * The chain of places `restore file` and `restore volume` read chunks from, cheapest first
 * (docs/replication.md, "Restore from peers"): the local object folder, copies in folder tiers (a
 * NAS), the family members that hold the chunk, then Drive, then S3 (a Glacier copy is never
 * restored from here: the error points to `restore aws`, which shows cost and time first).
 */
import path from 'node:path';
import type { Db } from '../../storage/catalog/db.js';
import { localSiteId } from '../../storage/objects/catalog.js';
import { ChunkChain, TierChunkSource, type BadCopy } from '../../storage/objects/chunk-sources.js';
import { tierCopySources, tierKindOf, type TierOpener } from '../../storage/objects/tier-copy-sources.js';
import { openTier } from '../../storage/tiers/open.js';
import type { Tier } from '../../storage/tiers/tier.js';
import { dataDir, type GlobalArgs } from '../context.js';
import { LomoNode } from '../host/lomo-node.js';
import { PeerLink, peerChunkSources } from '../host/peer-chunks.js';
import type { AwsArgs, DriveArgs } from './cloud-args.js';

export type RestoreSourceArgs = GlobalArgs & AwsArgs & DriveArgs;

/**
 * Opens the tier a holding names: a folder directly; S3 and Drive as `restore aws` / `restore
 * gdrive` would open them from the same flags and environment, if that is the tier the copy is in.
 * (The AWS and Google clients load only if a copy there is actually needed.)
 */
function opener(args: RestoreSourceArgs): TierOpener {
  return async (url) => {
    try {
      if (tierKindOf(url) === 'local') return await openTier(url, {});
      const cloud = await import('./cloud-options.js');
      const t: Tier = tierKindOf(url) === 's3' ? await cloud.archiveTierFrom(args) : await cloud.stagingTierFrom(args);
      if (t.url === url) return t;
      return `this site reads ${t.url}, the copy is in ${url} (${tierKindOf(url) === 's3' ? '--awsBucketName, AWS credentials' : '--cred, --token, --folder'})`;
    } catch (e) {
      return `cannot open it here: ${(e as Error)?.message ?? String(e)}`;
    }
  };
}

/** The sources of one restore, and what to close after it (a node started to reach the peers). */
export function restoreChain(db: Db, args: RestoreSourceArgs, local: Tier, onBadCopy: (b: BadCopy) => void): { chain: ChunkChain; close(): Promise<void> } {
  const dir = dataDir(args);
  const link = new PeerLink(dir, () => LomoNode.start({ dbFile: path.resolve(args.db), dataDir: dir, listen: [], relayClient: true, maintenanceMs: 3_600_000 }));
  const open = opener(args);
  const coldHint = 'run `lomo-peer restore aws <volume> <out>`, which shows the cost and time first';
  const copies = (kinds: ('local' | 'gdrive' | 's3')[]) => tierCopySources(db, open, { kinds, skipUrl: local.url, coldHint });
  const chain = new ChunkChain(
    [new TierChunkSource(local), copies(['local']), peerChunkSources(db, localSiteId(db) ?? '', link.fetch), copies(['gdrive']), copies(['s3'])],
    onBadCopy,
  );
  return { chain, close: () => link.close() };
}
