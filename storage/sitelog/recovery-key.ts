import type { SiteKeys } from '../crypto/keys.js';
import { signingKeyFromSeed, type SigningKey } from './sign.js';

/**
 * The household's recovery key pair: Ed25519 with seed K_recover = kdf(K_master, 4, "lomorec1")
 * (storage/crypto/keys.ts). It depends only on the passphrase and the salt in the site record, so
 * after a total loss a new machine derives it again; its public half is in the site record, and a
 * succession entry signed with it is what convinces the family that the new machine is the same
 * household (docs/sitelog-format.md §5.6). It never signs anything but successions.
 */
export function recoveryKey(keys: SiteKeys): SigningKey {
  return signingKeyFromSeed(keys.recoverySeed);
}
