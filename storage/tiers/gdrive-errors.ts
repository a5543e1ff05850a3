/** Drive and Google OAuth failures mapped to TierError kinds, with the fix named for people. */
import { TierError } from './tier.js';
import { kindForStatus } from './retry.js';
import { EXPIRED_REFRESH_HELP } from './gdrive-auth.js';

/** GaxiosError / raw answer → TierError, with the fix named for auth and quota failures. */
export function mapDriveError(err: unknown, what: string): TierError {
  if (err instanceof TierError) return err;
  const e = err as { status?: number; response?: { status?: number; data?: unknown }; json?: unknown; data?: unknown; message?: string; code?: string };
  const status = e.response?.status ?? e.status;
  let data = e.response?.data ?? e.json ?? e.data;
  if (typeof data === 'string') {
    try {
      data = JSON.parse(data);
    } catch {
      /* not JSON */
    }
  }
  const d = data as { error?: string | { message?: string; errors?: { reason?: string }[] }; error_description?: string } | undefined;
  if (d && typeof d.error === 'string') {
    // OAuth token endpoint answers.
    if (d.error === 'invalid_grant') return new TierError(`${what}: ${EXPIRED_REFRESH_HELP}`, 'auth', err);
    return new TierError(`${what}: Google OAuth refused (${d.error}: ${d.error_description ?? ''}); check --cred and run \`lomo-peer util gcloud-auth\``, 'auth', err);
  }
  const reason = d && typeof d.error === 'object' ? d.error.errors?.[0]?.reason : undefined;
  const msg = d && typeof d.error === 'object' ? d.error.message : e.message;
  if (/invalid_grant/.test(String(e.message))) return new TierError(`${what}: ${EXPIRED_REFRESH_HELP}`, 'auth', err);
  if (reason === 'storageQuotaExceeded') return new TierError(`${what}: Google Drive is full (storageQuotaExceeded): free space or empty the trash`, 'quota', err);
  if (status === undefined && e.code && /ECONN|ETIMEDOUT|EPIPE|ENOTFOUND/.test(e.code)) return new TierError(`${what}: Drive unreachable (${e.code})`, 'unavailable', err);
  const kind = kindForStatus(status, reason);
  if (kind === 'auth') {
    return new TierError(`${what}: Google Drive refused the credentials (${status} ${reason ?? ''}): run \`lomo-peer util gcloud-auth-refresh\`, or \`lomo-peer util gcloud-auth\` to sign in again (check --cred/--token)`, 'auth', err);
  }
  return new TierError(`${what}: ${status ?? ''} ${reason ?? ''} ${msg ?? ''}`.replace(/\s+/g, ' ').trim(), kind, err);
}
