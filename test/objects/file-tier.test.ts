import { describe, expect, it, beforeAll, afterAll } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { FileTier, GET_READ_BYTES } from '../../storage/tiers/file.js';
import { TierError } from '../../storage/tiers/tier.js';
import { seeded } from '../support/random.js';

const random = seeded('objects/file-tier.test.ts');

let tmp: string;
beforeAll(() => (tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lomo-filetier-'))));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
async function read(s: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of s) parts.push(c as Buffer);
  return Buffer.concat(parts);
}

describe('file:// tier', () => {
  it('get streams a chunk in pieces of GET_READ_BYTES (one chunk-protocol frame each), a range too', async () => {
    const t = new FileTier(path.join(tmp, 'reads'));
    const body = random.bytes(3 * GET_READ_BYTES + 1234);
    await t.put('obj/00000', body, { size: body.length, sha256: sha(body) });
    const sizes = async (s: Readable) => {
      const out: number[] = [];
      for await (const c of s) out.push((c as Buffer).length);
      return out;
    };
    expect(await sizes(await t.get('obj/00000'))).toEqual([GET_READ_BYTES, GET_READ_BYTES, GET_READ_BYTES, 1234]);
    expect(await sizes(await t.get('obj/00000', { start: 1, end: GET_READ_BYTES + 10 }))).toEqual([GET_READ_BYTES, 10]);
  });

  it('stores, heads, lists, reads ranges and deletes; url round-trips', async () => {
    const t = new FileTier(path.join(tmp, 'a'));
    expect(new FileTier(t.url).root).toBe(t.root);
    const body = random.bytes(100_000);
    const st = await t.put('obj/00000', body, { size: body.length, sha256: sha(body) });
    expect(st.size).toBe(body.length);
    const streamed = await t.put('obj/00001', Readable.from([body.subarray(0, 10), body.subarray(10)]));
    expect(streamed.sha256).toBe(sha(body)); // hashed while written
    expect((await t.head('obj/00000'))!.size).toBe(body.length);
    expect(await t.head('obj/00009')).toBeNull();
    expect((await read(await t.get('obj/00000', { start: 10, end: 19 }))).equals(body.subarray(10, 20))).toBe(true);
    const keys: string[] = [];
    for await (const s of t.list('obj/')) keys.push(s.key);
    expect(keys).toEqual(['obj/00000', 'obj/00001']);
    await t.delete('obj/00001');
    await expect(t.get('obj/00001')).rejects.toMatchObject({ kind: 'not-found' });
    // Putting the same bytes again is a no-op that succeeds.
    await t.put('obj/00000', body, { size: body.length, sha256: sha(body) });
  });

  it('refuses keys that could leave its folder', async () => {
    const t = new FileTier(path.join(tmp, 'b'));
    for (const k of ['../x', '/abs', 'a/../../x', 'a//b', '', 'a/./b']) {
      await expect(t.put(k, Buffer.from('x'))).rejects.toBeInstanceOf(TierError);
    }
    expect(fs.existsSync(path.join(tmp, 'x'))).toBe(false);
  });

  it('a put whose bytes do not match the expected SHA-256 or size leaves nothing behind', async () => {
    const t = new FileTier(path.join(tmp, 'c'));
    await expect(t.put('o/1', Readable.from([Buffer.from('hello')]), { sha256: sha(Buffer.from('other')) })).rejects.toMatchObject({ kind: 'checksum' });
    await expect(t.put('o/2', Readable.from([Buffer.from('hello')]), { size: 6 })).rejects.toMatchObject({ kind: 'checksum' });
    expect(fs.readdirSync(path.join(tmp, 'c/o'))).toEqual([]); // no temporaries, no half objects
  });

  it('reserve: bytes written through the descriptor appear under the key only after commit; a wrong size or an abort leaves nothing', async () => {
    const t = new FileTier(path.join(tmp, 'd'));
    const body = random.bytes(70_000);
    const r = await t.reserve('obj/00000');
    fs.writeSync(r.fd, body, 0, body.length, 0);
    expect(await t.head('obj/00000')).toBeNull(); // not visible before the commit
    const st = await r.commit({ size: body.length, sha256: sha(body) });
    expect(st.size).toBe(body.length);
    await t.syncPrefix('obj');
    expect((await read(await t.get('obj/00000'))).equals(body)).toBe(true);

    const short = await t.reserve('obj/00001');
    fs.writeSync(short.fd, body, 0, 10, 0);
    await expect(short.commit({ size: body.length, sha256: sha(body) })).rejects.toMatchObject({ kind: 'checksum' });
    const dropped = await t.reserve('obj/00002');
    fs.writeSync(dropped.fd, body, 0, 10, 0);
    await dropped.abort();
    await dropped.abort(); // twice is harmless
    expect(fs.readdirSync(path.join(tmp, 'd/obj'))).toEqual(['00000']); // no temporaries left
  });
});
