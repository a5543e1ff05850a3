/**
 * THE definition of object and chunk keys inside a tier, for every module that stores, reads or
 * checks objects (docs/tiers.md, "Family object keys").
 *
 * - A site's local object store keeps each object as its chunks: `<object id hex>/<index, 5 digits>`.
 * - A family object in a cloud or folder tier is named from public data only: the owner's site id
 *   (its libp2p peer id, in the owner's public log) and the random object id. So any member — the
 *   coordinator in particular — can upload, name, find and check another household's ciphertext
 *   without its passphrase, and the key says nothing about the content (no name, path, date or
 *   plaintext hash):
 *     whole object (its chunks concatenated, one cloud object):  family/<site id>/<object id hex>
 *     a single chunk, when a holder keeps chunks apart:          family/<site id>/chunks/<object id hex>/<index>
 *   Chunks sit under their own folder so that an object and its chunks can share a folder tier
 *   (a file and a folder cannot have the same path).
 *
 * This site's own volumes and staging files keep the keys they were uploaded under
 * (archive-names.ts, drive-names.ts), so existing cloud copies stay valid.
 */
import { OBJECT_ID_BYTES } from '../crypto/keys.js';

export const FAMILY_PREFIX = 'family';
const INDEX_DIGITS = 5;
const MAX_INDEX = 10 ** INDEX_DIGITS - 1;

/** A site id as it may appear in a key: a libp2p peer id's text (base58btc or base32), nothing path-like. */
const SITE_ID = /^[A-Za-z0-9]{16,128}$/;
const OBJECT_HEX = new RegExp(`^[0-9a-f]{${OBJECT_ID_BYTES * 2}}$`);

export class ObjectKeyError extends Error {
  override name = 'ObjectKeyError';
}

export function isSiteId(s: string): boolean {
  return SITE_ID.test(s);
}

function siteIdOf(s: string): string {
  if (!isSiteId(s)) throw new ObjectKeyError(`not a site id: ${JSON.stringify(s.slice(0, 140))}`);
  return s;
}

function objectHexOf(objectId: Uint8Array | string): string {
  const hex = typeof objectId === 'string' ? objectId : Buffer.from(objectId.buffer, objectId.byteOffset, objectId.byteLength).toString('hex');
  if (!OBJECT_HEX.test(hex)) throw new ObjectKeyError(`not an object id (${OBJECT_ID_BYTES} bytes, lowercase hex): ${JSON.stringify(hex.slice(0, 80))}`);
  return hex;
}

/** Key of chunk `index` of an object: `<object id hex>/<index, 5 digits>` (the local object store's layout). */
export function chunkKey(objectIdHex: string, index: number): string {
  if (!Number.isInteger(index) || index < 0 || index > MAX_INDEX) throw new ObjectKeyError(`chunk index out of range: ${index}`);
  return `${objectIdHex}/${String(index).padStart(INDEX_DIGITS, '0')}`;
}

/** Cloud key of a family object, whole: `family/<owner site id>/<object id hex>`. */
export function familyObjectKey(ownerSiteId: string, objectId: Uint8Array | string): string {
  return `${FAMILY_PREFIX}/${siteIdOf(ownerSiteId)}/${objectHexOf(objectId)}`;
}

/** Cloud key of one chunk of a family object: `family/<owner site id>/chunks/<object id hex>/<index>`. */
export function familyChunkKey(ownerSiteId: string, objectId: Uint8Array | string, index: number): string {
  return `${FAMILY_PREFIX}/${siteIdOf(ownerSiteId)}/chunks/${chunkKey(objectHexOf(objectId), index)}`;
}

export interface FamilyKey {
  ownerSiteId: string;
  objectIdHex: string;
  /** null: the whole object. */
  chunkIndex: number | null;
}

/** The owner, object and chunk a family key names; null for any other key (a checker listing a bucket skips those). */
export function parseFamilyKey(key: string): FamilyKey | null {
  const m = /^family\/([A-Za-z0-9]+)\/(?:chunks\/([0-9a-f]+)\/(\d{5})|([0-9a-f]+))$/.exec(key);
  if (!m || !isSiteId(m[1]!)) return null;
  const objectIdHex = m[2] ?? m[4]!;
  if (!OBJECT_HEX.test(objectIdHex)) return null;
  return { ownerSiteId: m[1]!, objectIdHex, chunkIndex: m[3] === undefined ? null : Number(m[3]) };
}
