import type { PrivateKey } from '@libp2p/interface';
import type { Db } from '../storage/catalog/db.js';
import { loadSodium } from '../storage/crypto/sodium.js';
import { attachLocalLog, localLogState } from '../storage/sitelog/local-log.js';
import { signingKeyFromSeed, type SigningKey } from '../storage/sitelog/sign.js';
import { dataDir, withCatalog, type GlobalArgs } from './context.js';
import { EXIT, UserError } from './exit-codes.js';
import { loadIdentity } from './identity.js';

/**
 * The bridge between the site's libp2p identity and its site log writer (storage/sitelog/
 * local-log.ts): storage/ never sees libp2p, only the raw 32-byte Ed25519 seed. Every command that
 * changes the catalog opens the writer first; once `init` has started the log, a catalog write
 * without it is refused.
 */
export function signingKeyOf(privateKey: PrivateKey): SigningKey {
  if (privateKey.type !== 'Ed25519') throw new UserError(`the site identity is a ${privateKey.type} key; site logs are signed with Ed25519`, EXIT.INPUT);
  // libp2p keeps an Ed25519 private key as seed (32 bytes) || public key (32 bytes).
  return signingKeyFromSeed(privateKey.raw.subarray(0, 32));
}

/** Attaches this site's log writer to `db` (nothing before init). */
export async function openSiteLog(args: GlobalArgs, db: Db): Promise<void> {
  if (!localLogState(db)) return;
  const dir = dataDir(args);
  const id = loadIdentity(dir);
  if (!id) throw new UserError(`this site keeps a signed log, but its identity key is missing from ${dir}; use the data folder of this site (--data-dir)`, EXIT.INPUT);
  attachLocalLog(db, await loadSodium(), signingKeyOf(id.privateKey));
}

/** withCatalog for commands that change the catalog: the site log writer is open before `fn` runs. */
export function withLoggedCatalog<T>(args: GlobalArgs, fn: (db: Db) => Promise<T> | T, opts: { create?: boolean } = {}): Promise<T> {
  return withCatalog(args, async (db) => {
    await openSiteLog(args, db);
    return fn(db);
  }, opts);
}
