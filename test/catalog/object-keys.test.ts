/** The one definition of chunk keys and of family objects' cloud keys (storage/naming/object-keys.ts). */
import { describe, expect, it } from 'vitest';
import { chunkKey, familyChunkKey, familyObjectKey, ObjectKeyError, parseFamilyKey } from '../../storage/naming/object-keys.js';
import { chunkKey as formatChunkKey } from '../../storage/objects/format.js';
import { seeded } from '../support/random.js';

const rand = seeded('object-keys');

const SITE = '12D3KooWDpqtyMaUi24ScDaebpNcepjNk2q2qJGRMCZaDJ4MNnQv';

describe('object keys', () => {
  it('chunk keys are <object id hex>/<index, 5 digits>, and format.ts uses the same definition', () => {
    expect(chunkKey('ab'.repeat(16), 7)).toBe(`${'ab'.repeat(16)}/00007`);
    expect(chunkKey('ab'.repeat(16), 9999)).toBe(`${'ab'.repeat(16)}/09999`);
    expect(formatChunkKey).toBe(chunkKey);
    expect(() => chunkKey('ab', -1)).toThrow(ObjectKeyError);
    expect(() => chunkKey('ab', 100_000)).toThrow(ObjectKeyError);
  });

  it("a family object's key holds nothing but the owner's site id and the object id", () => {
    const id = rand.bytes(16);
    const key = familyObjectKey(SITE, id);
    expect(key.split('/')).toEqual(['family', SITE, id.toString('hex')]);
    expect(familyObjectKey(SITE, id.toString('hex'))).toBe(key); // bytes or hex: the same key
    expect(parseFamilyKey(key)).toEqual({ ownerSiteId: SITE, objectIdHex: id.toString('hex'), chunkIndex: null });
    const ck = familyChunkKey(SITE, id, 12);
    expect(ck).toBe(`family/${SITE}/chunks/${id.toString('hex')}/00012`);
    expect(parseFamilyKey(ck)).toEqual({ ownerSiteId: SITE, objectIdHex: id.toString('hex'), chunkIndex: 12 });
    // An object and its chunks never collide in a folder tier: the chunks are not under the object's path.
    expect(ck.startsWith(`${key}/`)).toBe(false);
  });

  it('refuses anything that is not a site id or an object id, so a key can never leave its folder', () => {
    const id = rand.bytes(16);
    for (const bad of ['', '../x', 'a/b', 'site id with spaces', `${SITE}/..`, 'short']) expect(() => familyObjectKey(bad, id)).toThrow(ObjectKeyError);
    for (const bad of [rand.bytes(15), rand.bytes(17), 'AB'.repeat(16), '../'.repeat(11)]) expect(() => familyObjectKey(SITE, bad)).toThrow(ObjectKeyError);
    for (const k of ['0591e0501d65a43cc5dd3f2d5453ca/2024-05-01--2024-06-01.iso', `family/${SITE}/xyz`, `family/${SITE}/${'ab'.repeat(16)}/00001`, `family/../${'ab'.repeat(16)}`]) {
      expect(parseFamilyKey(k), k).toBeNull();
    }
  });
});
