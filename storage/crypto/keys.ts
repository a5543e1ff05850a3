import { timingSafeEqual } from 'node:crypto';
import type { Sodium } from './sodium.js';

/**
 * The key hierarchy (docs/crypto-format.md, "Keys"):
 *
 *   K_master  = Argon2id13(NFC(passphrase) as UTF-8, salt, opslimit, memlimit) -> 32 bytes
 *   K_check   = kdf(K_master, 1, "lomochk1")   key check value = BLAKE2b-256("lomo-peer key check v1", key=K_check)
 *   K_catalog = kdf(K_master, 2, "lomocat1")   metadata: manifests, catalog deltas of the site log
 *   K_objects = kdf(K_master, 3, "lomoobj1")   data: volumes and staging files
 *   K_recover = kdf(K_master, 4, "lomorec1")   seed of the recovery Ed25519 key pair (storage/sitelog/recovery-key.ts)
 *   K_delta   = BLAKE2b-256("lomo-sitelog catalog delta v1", key = K_catalog)   catalog deltas (storage/sitelog/delta.ts)
 *   K_object  = BLAKE2b-256(object id (16 random bytes), key = K_catalog or K_objects by kind)
 *
 * kdf is crypto_kdf_derive_from_key. Argon2 runs once per process (slow on purpose); every other
 * key is one BLAKE2b call, so a million staging files cost a million microseconds, and the random
 * object id (not the content hash, as lomob did) means equal files do not get equal ciphertexts.
 */
export const KDF_ALG = 'argon2id13';
/** 64 MiB and 3 passes: the floor; about 0.1 s native, 0.35 s WebAssembly here. */
export const DEFAULT_OPSLIMIT = 3;
export const DEFAULT_MEMLIMIT = 64 * 1024 * 1024;
export const MIN_MEMLIMIT = 64 * 1024 * 1024;
export const SALT_BYTES = 16;
export const OBJECT_ID_BYTES = 16;

export interface KdfParams {
  alg: typeof KDF_ALG;
  opslimit: number;
  memlimit: number;
  salt: Uint8Array;
}

export type KeyDomain = 'objects' | 'catalog';
export const CATALOG_DELTA_CONTEXT = 'lomo-sitelog catalog delta v1';

export class WrongPassphraseError extends Error {
  override name = 'WrongPassphraseError';
  constructor() {
    super('wrong passphrase: it does not match the key check stored when the site was created');
  }
}

export function newKdfParams(sodium: Sodium, opslimit = DEFAULT_OPSLIMIT, memlimit = DEFAULT_MEMLIMIT): KdfParams {
  if (memlimit < MIN_MEMLIMIT) throw new Error(`Argon2id memory must be at least ${MIN_MEMLIMIT} bytes`);
  return { alg: KDF_ALG, opslimit, memlimit, salt: sodium.randomBytes(SALT_BYTES) };
}

/** The passphrase as bytes: Unicode NFC then UTF-8, so the same words typed on any OS give one key. */
export function passphraseBytes(passphrase: string): Uint8Array {
  return Buffer.from(passphrase.normalize('NFC'), 'utf8');
}

export class SiteKeys {
  readonly checkValue: Uint8Array;
  /**
   * The seed of this household's recovery key pair: a function of the passphrase and the stored
   * salt only, so a new machine that knows the passphrase proves it is the same household
   * (docs/sitelog-format.md, "succession"). Its own KDF id and context: no other key is related.
   */
  readonly recoverySeed: Uint8Array;
  /**
   * The key of the site log's catalog deltas. A BLAKE2b input of 29 bytes, never 16 like an object
   * id, so it cannot equal any manifest's key in the same K_catalog domain.
   */
  readonly catalogDeltaKey: Uint8Array;
  private readonly domains: Record<KeyDomain, Uint8Array>;

  constructor(
    private readonly sodium: Sodium,
    master: Uint8Array,
  ) {
    const check = sodium.kdfDerive(master, 1, 'lomochk1');
    this.checkValue = sodium.blake2b(32, Buffer.from('lomo-peer key check v1'), check);
    this.domains = { catalog: sodium.kdfDerive(master, 2, 'lomocat1'), objects: sodium.kdfDerive(master, 3, 'lomoobj1') };
    this.recoverySeed = sodium.kdfDerive(master, 4, 'lomorec1');
    this.catalogDeltaKey = sodium.blake2b(32, Buffer.from(CATALOG_DELTA_CONTEXT, 'latin1'), this.domains.catalog);
  }

  /** The key of one object: fast, and distinct for every random object id. */
  objectKey(domain: KeyDomain, objectId: Uint8Array): Uint8Array {
    if (objectId.length !== OBJECT_ID_BYTES) throw new Error(`object id must be ${OBJECT_ID_BYTES} bytes`);
    return this.sodium.blake2b(32, objectId, this.domains[domain]);
  }

  /** Throws WrongPassphraseError unless these keys come from the passphrase that made `expected`. */
  verify(expected: Uint8Array): void {
    const a = Buffer.from(this.checkValue);
    const b = Buffer.from(expected);
    if (a.length !== b.length || !timingSafeEqual(a, b)) throw new WrongPassphraseError();
  }
}

/** `deriveSiteKeys` with Argon2id off the calling thread (native libsodium), for callers with other work to overlap. */
export async function deriveSiteKeysAsync(sodium: Sodium, passphrase: string, params: KdfParams): Promise<SiteKeys> {
  if (params.alg !== KDF_ALG) throw new Error(`unknown key derivation "${params.alg}"`);
  const master = await sodium.argon2idAsync(passphraseBytes(passphrase), params.salt, params.opslimit, params.memlimit);
  return new SiteKeys(sodium, master);
}

/** Runs Argon2id (the slow step) and derives the subkeys. Callers cache the result per process. */
export function deriveSiteKeys(sodium: Sodium, passphrase: string, params: KdfParams): SiteKeys {
  if (params.alg !== KDF_ALG) throw new Error(`unknown key derivation "${params.alg}"`);
  const master = sodium.argon2id(passphraseBytes(passphrase), params.salt, params.opslimit, params.memlimit);
  return new SiteKeys(sodium, master);
}
