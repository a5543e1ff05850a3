/**
 * A tier from its URL (docs/tiers.md, "Tier URLs"):
 *   file:///srv/lomo                                   a folder (the embedded default, a NAS mount)
 *   s3://bucket[/prefix][?region=R&endpoint=URL&class=C]  S3 / Glacier, any S3-compatible endpoint
 *   gdrive://folder[?endpoint=URL]                     Google Drive, under one top folder
 * The URL says where; everything that must not be written down with it (credentials, the upload
 * journal, tuning) comes in `secrets`. A tier's own `url` opens the same place again, so the URL
 * the catalog records with each placement is enough to find the copy later.
 *
 * The cloud SDKs load only when a cloud tier is opened: a file tier stays light.
 */
import { TierError, type Tier } from './tier.js';
import type { RetryOptions } from './retry.js';
import type { UploadJournal } from './upload-journal.js';
import type { OAuth2Client } from 'google-auth-library';

export interface TierSecrets {
  /** S3 key pair (+ session token of temporary keys); without one, the AWS SDK's default chain (environment, profile files, SSO, roles). */
  aws?: { accessKeyId?: string; secretAccessKey?: string; sessionToken?: string };
  /** Google OAuth: the client credentials file and the token file (refreshed tokens are written back), or a ready client. */
  drive?: { credentials: string; token: string } | { auth: OAuth2Client };
  /** Keeps unfinished uploads (S3 multipart ids and parts, Drive sessions) so that another run resumes them. */
  journal?: UploadJournal;
  options?: TierOptions;
}

/** Tuning that is not part of where a tier is. Each backend takes the ones it knows. */
export interface TierOptions {
  /** S3: default multipart part size in bytes (6,000,000 when not given). */
  partSize?: number;
  /** S3: parts / ranges in flight. */
  concurrency?: number;
  /** S3: create a missing bucket (default) or fail naming it. */
  createBucket?: boolean;
  /** S3: allow replacing/deleting cold objects before their minimum duration. */
  allowEarlyDelete?: boolean;
  /** Drive: answer look-ups from one listing per folder (batch uploads). */
  cacheListings?: boolean;
  /** Drive: files at least this big use the resumable protocol. */
  resumableThreshold?: number;
  retry?: RetryOptions;
}

const invalid = (url: string, why: string) => new TierError(`tier URL "${url}": ${why} (forms: file:///path, s3://bucket/prefix?region=..&endpoint=..&class=.., gdrive://folder)`, 'invalid');

/** Splits `scheme://authority/path?query` without URL's host rules (bucket and folder names are not host names). */
function parts(url: string): { scheme: string; authority: string; path: string; query: URLSearchParams } | null {
  const m = /^([a-z][a-z0-9+.-]*):\/\/([^/?#]*)([^?#]*)(?:\?([^#]*))?$/i.exec(url);
  if (!m) return null;
  return { scheme: m[1]!.toLowerCase(), authority: m[2]!, path: m[3]!, query: new URLSearchParams(m[4] ?? '') };
}

function decoded(url: string, s: string, what: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    throw invalid(url, `bad percent-encoding in the ${what}`);
  }
}

function onlyParams(url: string, q: URLSearchParams, allowed: string[]): void {
  for (const k of q.keys()) if (!allowed.includes(k)) throw invalid(url, `unknown parameter "${k}" (allowed: ${allowed.join(', ') || 'none'})`);
}

export async function openTier(url: string, secrets: TierSecrets = {}): Promise<Tier> {
  const p = parts(url);
  if (!p) throw invalid(url, 'not a URL');
  const o = secrets.options ?? {};
  switch (p.scheme) {
    case 'file': {
      if (p.authority && p.authority !== 'localhost') throw invalid(url, `a folder tier is local: write file:///path (three slashes), not a host "${p.authority}"`);
      if (!p.path || p.path === '/') throw invalid(url, 'no folder');
      onlyParams(url, p.query, []);
      const { FileTier } = await import('./file.js');
      try {
        return new FileTier(url);
      } catch (e) {
        throw invalid(url, (e as Error).message);
      }
    }
    case 's3': {
      const bucket = decoded(url, p.authority, 'bucket');
      if (!bucket) throw invalid(url, 'no bucket');
      onlyParams(url, p.query, ['region', 'endpoint', 'class']);
      const { S3Tier, STORAGE_CLASSES } = await import('./s3.js');
      const cls = p.query.get('class') ?? undefined;
      if (cls !== undefined && !(STORAGE_CLASSES as readonly string[]).includes(cls)) throw invalid(url, `unknown storage class "${cls}" (one of ${STORAGE_CLASSES.join(', ')})`);
      return new S3Tier({
        bucket,
        prefix: decoded(url, p.path, 'prefix'),
        region: p.query.get('region') ?? undefined,
        endpoint: p.query.get('endpoint') ?? undefined,
        storageClass: cls as never,
        accessKeyId: secrets.aws?.accessKeyId,
        secretAccessKey: secrets.aws?.secretAccessKey,
        sessionToken: secrets.aws?.sessionToken,
        journal: secrets.journal,
        partSize: o.partSize,
        concurrency: o.concurrency,
        createBucket: o.createBucket,
        allowEarlyDelete: o.allowEarlyDelete,
        retry: o.retry,
      });
    }
    case 'gdrive': {
      // The folder is one name (lomob's --folder), percent-encoded when it holds '/' or '?'.
      if (p.path) throw invalid(url, 'a Drive tier is one top folder: encode a "/" in its name as %2F');
      const folder = decoded(url, p.authority, 'folder');
      if (!folder) throw invalid(url, 'no folder');
      onlyParams(url, p.query, ['endpoint']);
      const d = secrets.drive;
      if (!d) throw new TierError(`${url}: no Google credentials: give the OAuth client file and the token file (util gcloud-auth writes the token)`, 'auth');
      const [{ GDriveTier }, { authorizedClient }] = await Promise.all([import('./gdrive.js'), import('./gdrive-auth.js')]);
      return new GDriveTier({
        auth: 'auth' in d ? d.auth : authorizedClient(d.credentials, d.token),
        folder,
        rootUrl: p.query.get('endpoint') ?? undefined,
        journal: secrets.journal,
        cacheListings: o.cacheListings,
        resumableThreshold: o.resumableThreshold,
        retry: o.retry,
      });
    }
    default:
      throw invalid(url, `unknown scheme "${p.scheme}:"`);
  }
}
