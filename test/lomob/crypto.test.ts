import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { decryptLomobFile, encryptLomobFile, LomobCryptoError } from '../../storage/lomob/crypto.js';
import { lomobFileKey, lomobIv } from '../../storage/lomob/format.js';

/**
 * lomob's encryption format against files lomob itself encrypted (test/fixtures/lomob, made with
 * `lomob util encrypt` at lomo-backup commit 95c80d3).
 */
const FIX = path.join(import.meta.dirname, '..', 'fixtures', 'lomob');
const KEY = 'lomob fixture key 2026';
const ISO = path.join(FIX, '2026-12-04--2026-12-04.iso');
const ISO_ENC = `${ISO}.enc`;
const VID = path.join(FIX, 'library', '2021', '12', 'VID_0003.mp4');
const VID_ENC = path.join(FIX, 'staging-VID_0003.mp4.enc');

let tmp: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lomob-crypto-'));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest();
const out = (name: string) => path.join(tmp, name);

/** The temporary folder holds exactly these names (no partial file left behind). */
function expectOnly(names: string[]): void {
  expect(fs.readdirSync(tmp).sort()).toEqual([...names].sort());
}

async function rejection(p: Promise<unknown>): Promise<LomobCryptoError> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(LomobCryptoError);
  return err as LomobCryptoError;
}

describe('lomob decryption of lomob-made files', () => {
  it('decrypts the encrypted volume to the ISO, byte for byte', async () => {
    const res = await decryptLomobFile(ISO_ENC, out('vol.iso'), KEY);
    const plain = fs.readFileSync(out('vol.iso'));
    expect(plain.equals(fs.readFileSync(ISO))).toBe(true);
    expect(res.size).toBe(plain.length);
    expect(res.sha256.equals(sha256(plain))).toBe(true);
    expect(res.iv.equals(fs.readFileSync(ISO_ENC).subarray(0, 16))).toBe(true);
  });

  it('decrypts the staging file (Drive format) to the library file, from a stream, with the catalog expectation', async () => {
    const vid = fs.readFileSync(VID);
    const res = await decryptLomobFile(fs.createReadStream(VID_ENC), out('vid.mp4'), KEY, { size: vid.length, sha256: sha256(vid) });
    expect(fs.readFileSync(out('vid.mp4')).equals(vid)).toBe(true);
    expect(res.size).toBe(180000);
  });

  it('derives the key as lomob does (Argon2id t=1 m=64MiB p=4 over the IV)', async () => {
    const enc = fs.readFileSync(VID_ENC);
    const iv = enc.subarray(0, 16);
    expect(iv.equals(lomobIv(sha256(fs.readFileSync(VID))))).toBe(true);
    const key = await lomobFileKey(KEY, iv);
    expect(key.length).toBe(32);
    expect((await lomobFileKey(Buffer.from(KEY), iv)).equals(key)).toBe(true);
    // The portable fallback (Node without node:crypto argon2) derives the same key.
    const { argon2idAsync } = await import('@noble/hashes/argon2.js');
    expect(Buffer.from(await argon2idAsync(Buffer.from(KEY), iv, { t: 1, m: 65536, p: 4, dkLen: 32 })).equals(key)).toBe(true);
  });
});

describe('lomob decryption refuses what it cannot vouch for, and leaves no output file', () => {
  it('a wrong master key', async () => {
    for (const f of fs.readdirSync(tmp)) fs.rmSync(out(f));
    const err = await rejection(decryptLomobFile(VID_ENC, out('wrong.mp4'), 'not the key'));
    expect(err.kind).toBe('wrong-key-or-damaged');
    expect(err.message).toMatch(/master key \(LOMOB_MASTER_KEY\) is wrong/);
    expectOnly([]);
  });

  it('a wrong master key on a volume', async () => {
    const err = await rejection(decryptLomobFile(ISO_ENC, out('wrong.iso'), 'lomob fixture key 2025'));
    expect(err.kind).toBe('wrong-key-or-damaged');
    expectOnly([]);
  });

  it('one flipped bit inside the volume: the key is proven right, so it says damaged', async () => {
    const enc = fs.readFileSync(ISO_ENC);
    enc[400_000]! ^= 0x01;
    fs.writeFileSync(out('flipped.iso.enc'), enc);
    const err = await rejection(decryptLomobFile(out('flipped.iso.enc'), out('flipped.iso'), KEY));
    expect(err.kind).toBe('damaged');
    expect(err.message).toMatch(/damaged or truncated: the master key is right/);
    expectOnly(['flipped.iso.enc']);
  });

  it('one flipped bit in the IV or in a staging file', async () => {
    for (const at of [3, 100_000]) {
      const enc = fs.readFileSync(VID_ENC);
      enc[at]! ^= 0x80;
      const err = await rejection(decryptLomobFile(Readable.from([enc]), out('flipped.mp4'), KEY));
      expect(err.kind).toBe('wrong-key-or-damaged');
    }
    expectOnly(['flipped.iso.enc']);
  });

  it('a truncated file, with and without the size the catalog knows', async () => {
    const cut = fs.readFileSync(VID_ENC).subarray(0, 150_016);
    expect((await rejection(decryptLomobFile(Readable.from([cut]), out('cut.mp4'), KEY))).kind).toBe('wrong-key-or-damaged');
    const err = await rejection(decryptLomobFile(Readable.from([cut]), out('cut.mp4'), KEY, { size: 180000 }));
    expect(err.kind).toBe('truncated');
    expect(err.message).toMatch(/150000 bytes, the catalog says 180000/);
    const cutIso = fs.readFileSync(ISO_ENC).subarray(0, 500_000);
    expect((await rejection(decryptLomobFile(Readable.from([cutIso]), out('cut.iso'), KEY))).kind).toBe('damaged');
    expectOnly(['flipped.iso.enc']);
  });

  it('a file shorter than the 16-byte header', async () => {
    fs.writeFileSync(out('short.enc'), Buffer.alloc(9));
    const err = await rejection(decryptLomobFile(out('short.enc'), out('short'), KEY));
    expect(err.kind).toBe('too-short');
    expect(err.message).toMatch(/9 bytes, lomob's header alone is 16/);
    expectOnly(['flipped.iso.enc', 'short.enc']);
  });

  it('a plaintext that is not the one the catalog expects', async () => {
    const err = await rejection(decryptLomobFile(VID_ENC, out('other.mp4'), KEY, { sha256: Buffer.alloc(32) }));
    expect(err.kind).toBe('hash-mismatch');
    expectOnly(['flipped.iso.enc', 'short.enc']);
  });

  it('an existing destination survives a failed decryption', async () => {
    fs.writeFileSync(out('keep.mp4'), 'old');
    await rejection(decryptLomobFile(VID_ENC, out('keep.mp4'), 'not the key'));
    expect(fs.readFileSync(out('keep.mp4'), 'utf8')).toBe('old');
  });
});

describe('lomob encryption (util encrypt)', () => {
  it('is byte-identical to lomob for the same file (the IV is the plaintext hash, so the format is deterministic)', async () => {
    const vid = await encryptLomobFile(VID, out('vid.enc'), KEY);
    expect(fs.readFileSync(out('vid.enc')).equals(fs.readFileSync(VID_ENC))).toBe(true);
    expect(vid).toMatchObject({ plainSize: 180000, cipherSize: 180016 });
    expect(vid.cipherSha256.equals(sha256(fs.readFileSync(VID_ENC)))).toBe(true);

    await encryptLomobFile(ISO, out('iso.enc'), KEY);
    expect(fs.readFileSync(out('iso.enc')).equals(fs.readFileSync(ISO_ENC))).toBe(true);
  });

  it('with a given IV matches the fixture when fed the fixture IV, and round-trips through decryption', async () => {
    const iv = fs.readFileSync(VID_ENC).subarray(0, 16);
    await encryptLomobFile(VID, out('vid-iv.enc'), KEY, { iv });
    expect(fs.readFileSync(out('vid-iv.enc')).equals(fs.readFileSync(VID_ENC))).toBe(true);

    fs.writeFileSync(out('note.txt'), 'Été à Paris\n');
    await encryptLomobFile(out('note.txt'), out('note.enc'), 'another key');
    await decryptLomobFile(out('note.enc'), out('note.back'), 'another key');
    expect(fs.readFileSync(out('note.back'), 'utf8')).toBe('Été à Paris\n');
  });

  it('an empty file is its 16-byte IV and decrypts back to empty', async () => {
    fs.writeFileSync(out('empty'), '');
    const res = await encryptLomobFile(out('empty'), out('empty.enc'), KEY);
    expect(fs.readFileSync(out('empty.enc')).equals(lomobIv(sha256(Buffer.alloc(0))))).toBe(true);
    expect(res.cipherSize).toBe(16);
    await decryptLomobFile(out('empty.enc'), out('empty.back'), KEY);
    expect(fs.statSync(out('empty.back')).size).toBe(0);
  });
});
