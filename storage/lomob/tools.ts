/**
 * lomob's `util` format tools on local files (cmd/lomob/crypt.go, upload-iso.go calculatePartHash):
 * the part hashes S3 checks, the header check, the `.partN` pieces of `util encrypt --part-size`,
 * and telling a lomob encrypted file from one of lomo-peer's objects. docs/lomob.md §5.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import { LOMOB_IV_BYTES, lomobIv } from './format.js';
import { encryptLomobFile, type LomobEncryptResult } from './crypto.js';

export interface LomobPartHash {
  partNo: number;
  /** Byte range in the file, end exclusive. */
  start: number;
  end: number;
  sha256: Buffer;
}

/** Base64, as lomob prints hashes and S3 checks them (x-amz-checksum-sha256). */
export const base64 = (b: Uint8Array) => Buffer.from(b).toString('base64');

/**
 * `lomob util parts`: SHA-256 of each `partSize` piece of the file (lomohash.CalculateMultiPartsHash),
 * and the overall value S3 reports for a multipart object: SHA-256 of the part hashes concatenated
 * (lomohash.ConcatAndCalculateBase64Hash). `partNumber` (1-based) hashes only that part.
 */
export async function lomobPartHashes(file: string, partSize: number, partNumber?: number): Promise<{ parts: LomobPartHash[]; overall: Buffer | null; size: number }> {
  if (!Number.isInteger(partSize) || partSize <= 0) throw new RangeError(`part size must be a positive number of bytes, got ${partSize}`);
  const size = (await fs.promises.stat(file)).size;
  const parts: LomobPartHash[] = [];
  const fh = await fs.promises.open(file, 'r');
  try {
    const buf = Buffer.allocUnsafe(Math.min(partSize, 8 << 20));
    for (let start = 0, no = 1; start < size; start += partSize, no++) {
      if (partNumber !== undefined && no !== partNumber) continue;
      const end = Math.min(start + partSize, size);
      const h = crypto.createHash('sha256');
      for (let pos = start; pos < end; ) {
        const { bytesRead } = await fh.read(buf, 0, Math.min(buf.length, end - pos), pos);
        if (bytesRead === 0) throw new Error(`${file} shrank while being read`);
        h.update(buf.subarray(0, bytesRead));
        pos += bytesRead;
      }
      parts.push({ partNo: no, start, end, sha256: h.digest() });
    }
  } finally {
    await fh.close();
  }
  const overall = partNumber === undefined ? crypto.createHash('sha256').update(Buffer.concat(parts.map((p) => p.sha256))).digest() : null;
  return { parts, overall, size };
}

/**
 * `lomob util check-header <original> <encrypted>`: lomob's IV is the first 16 bytes of the
 * original's SHA-256; this compares it with the encrypted file's first 16 bytes. It proves the
 * encrypted file was made from this original (by lomob's rule), not that the key is right.
 */
export async function checkLomobHeader(original: string, encrypted: string): Promise<{ same: boolean; expected: Buffer; found: Buffer }> {
  const h = crypto.createHash('sha256');
  for await (const c of fs.createReadStream(original)) h.update(c as Buffer);
  const expected = lomobIv(h.digest());
  const fh = await fs.promises.open(encrypted, 'r');
  try {
    const found = Buffer.alloc(LOMOB_IV_BYTES);
    const { bytesRead } = await fh.read(found, 0, LOMOB_IV_BYTES, 0);
    return { same: bytesRead === LOMOB_IV_BYTES && found.equals(expected), expected, found: found.subarray(0, bytesRead) };
  } finally {
    await fh.close();
  }
}

/**
 * Where `lomob util encrypt --part-size` cuts the encrypted file (IV included) into `.partN` files:
 * the first piece holds min(partSize, plain size) bytes, then every piece partSize bytes. (For a
 * file smaller than the part size this gives lomob's odd last piece of 16 bytes.) Joined, the
 * pieces are the whole encrypted file.
 */
export function lomobPieceBounds(plainSize: number, partSize: number): { start: number; end: number }[] {
  const total = plainSize + LOMOB_IV_BYTES;
  const out: { start: number; end: number }[] = [];
  if (plainSize === 0) return out; // lomob's loop runs once per plaintext piece: none
  let start = 0;
  let end = Math.min(partSize, plainSize);
  while (start < total) {
    out.push({ start, end });
    start = end;
    end = Math.min(start + partSize, total);
  }
  return out;
}

/** `lomob util encrypt [--part-size]`: the encrypted file, and with a part size its `.partN` pieces beside it. */
export async function encryptLomobWithParts(src: string, dst: string, masterKey: string | Uint8Array, partSize?: number): Promise<LomobEncryptResult & { pieces: string[] }> {
  const r = await encryptLomobFile(src, dst, masterKey);
  const pieces: string[] = [];
  if (!partSize) return { ...r, pieces };
  const fh = await fs.promises.open(dst, 'r');
  try {
    for (const [i, b] of lomobPieceBounds(r.plainSize, partSize).entries()) {
      const name = `${dst}.part${i + 1}`;
      const buf = Buffer.alloc(b.end - b.start);
      await fh.read(buf, 0, buf.length, b.start);
      await fs.promises.writeFile(name, buf);
      pieces.push(name);
    }
  } finally {
    await fh.close();
  }
  return { ...r, pieces };
}

/** lomo-peer's object chunks start with this magic (docs/crypto-format.md); lomob's files have none. */
const LOMO_PEER_MAGIC = Buffer.from('LOMOOBJ\0', 'latin1');

/** True when `file` is a chunk of a lomo-peer object (not lomob's format). */
export async function isLomoPeerObject(file: string): Promise<boolean> {
  const fh = await fs.promises.open(file, 'r');
  try {
    const head = Buffer.alloc(LOMO_PEER_MAGIC.length);
    const { bytesRead } = await fh.read(head, 0, head.length, 0);
    return bytesRead === head.length && head.equals(LOMO_PEER_MAGIC);
  } finally {
    await fh.close();
  }
}
