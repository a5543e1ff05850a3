import type { Db } from '../../storage/catalog/db.js';
import { localLogKeys } from '../../storage/sitelog/local.js';
import type { LocalLogKeys } from '../../storage/sitelog/store.js';
import type { SiteIdentity } from '../identity.js';

/**
 * The keys this site signs its log with, from its libp2p identity: storage/ takes raw Ed25519
 * bytes (libp2p's raw private key is the 32-byte seed followed by the public key).
 */
export function siteLogKeys(db: Db, identity: SiteIdentity): LocalLogKeys {
  if (identity.privateKey.type !== 'Ed25519') throw new Error(`site identity is a ${identity.privateKey.type} key; site logs need Ed25519`);
  return localLogKeys(db, identity.privateKey.raw.subarray(0, 32));
}
