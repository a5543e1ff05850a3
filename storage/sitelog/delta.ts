import type { SiteKeys } from '../crypto/keys.js';
import { TAG, type Sodium } from '../crypto/sodium.js';
import type { CatalogDeltaBody } from './body.js';
import { SiteLogError } from './errors.js';
import type { CatalogOp } from './catalog-ops.js';

/**
 * The private part of a site log: catalog deltas (docs/sitelog-format.md §5.3). What a household
 * would not tell its family — file names, paths, plaintext hashes, which files a volume holds,
 * manifests, deletions — is one secretstream XChaCha20-Poly1305 message under K_delta (a key of
 * the K_catalog domain, storage/crypto/keys.ts), tag FINAL, with the origin's public key as
 * additional data so a delta cannot be replayed into another site's log. Peers store and pass it
 * on; only a machine with the passphrase reads it (that is how `recover` rebuilds the catalog).
 *
 *   message   = u32 LE n || payload (n bytes, UTF-8 JSON) || zero bytes up to a multiple of 256
 *
 * The padding hides the exact size of small deltas (a rename of one file, say).
 */
export const PAD_TO = 256;

/** One change of the private catalog (catalog-ops.ts). Readers skip ops they do not know (forward room). */
export type DeltaOp = CatalogOp | { op: string; [field: string]: unknown };

/** Only the delta key is needed: commands without the passphrase hold it (local-log.ts). */
export type DeltaKeys = Pick<SiteKeys, 'catalogDeltaKey'>;

export interface CatalogDelta {
  v: 1;
  ops: DeltaOp[];
}

export function sealCatalogDelta(sodium: Sodium, keys: DeltaKeys, origin: Uint8Array, delta: CatalogDelta): CatalogDeltaBody {
  const payload = Buffer.from(JSON.stringify(delta), 'utf8');
  const size = Math.ceil((4 + payload.length) / PAD_TO) * PAD_TO;
  const message = Buffer.alloc(size);
  message.writeUInt32LE(payload.length, 0);
  payload.copy(message, 4);
  const { state, header } = sodium.pushInit(keys.catalogDeltaKey);
  const ciphertext = sodium.push(state, message, origin, TAG.FINAL);
  return { header: Buffer.from(header), ciphertext: Buffer.from(ciphertext) };
}

/** Decrypts and checks a delta of `origin`'s log; a wrong key or any changed byte is a SiteLogError. */
export function openCatalogDelta(sodium: Sodium, keys: DeltaKeys, origin: Uint8Array, body: CatalogDeltaBody): CatalogDelta {
  const state = sodium.pullInit(body.header, keys.catalogDeltaKey);
  const got = sodium.pull(state, body.ciphertext, origin);
  if (!got || got.tag !== TAG.FINAL) throw new SiteLogError('rule', 'catalog delta does not decrypt with this site\'s catalog key');
  const m = Buffer.from(got.message);
  const n = m.length >= 4 ? m.readUInt32LE(0) : -1;
  if (n < 0 || 4 + n > m.length || m.length % PAD_TO !== 0 || !m.subarray(4 + n).every((b) => b === 0)) {
    throw new SiteLogError('malformed', 'catalog delta: bad length or padding');
  }
  let v: unknown;
  try {
    v = JSON.parse(m.subarray(4, 4 + n).toString('utf8'));
  } catch {
    throw new SiteLogError('malformed', 'catalog delta: not JSON');
  }
  const d = v as CatalogDelta;
  if (typeof v !== 'object' || v === null || d.v !== 1 || !Array.isArray(d.ops)) throw new SiteLogError('malformed', 'catalog delta: not version 1');
  return d;
}
