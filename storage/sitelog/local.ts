import type { Db } from '../catalog/db.js';
import { signingKeyFromSeed } from './sign.js';
import type { LocalLogKeys } from './store.js';

/**
 * Which log is this site's own. It is recorded when the site appends its first entry (store.ts
 * appendLocal), so a site that never ran `init` (no site_keys row) still roots its view of the
 * family at itself (derive.ts).
 */
export function localOrigin(db: Db): Buffer | null {
  return (db.prepare('SELECT origin FROM sitelog_local WHERE id = 1').pluck().get() as Buffer | undefined) ?? null;
}

/**
 * The keys this site appends with, from the raw 32-byte Ed25519 seed of its identity (node/identity.ts
 * hands it over: storage/ never sees a libp2p key). The origin stays the log's first key.
 */
export function localLogKeys(db: Db, seed: Uint8Array): LocalLogKeys {
  const signing = signingKeyFromSeed(seed);
  return { origin: localOrigin(db) ?? signing.publicKey, signing };
}
