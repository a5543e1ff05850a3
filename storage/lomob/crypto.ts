/**
 * Streaming decryption and encryption of lomob files (format: ./format.ts, docs/lomob.md §1).
 *
 * lomob's format has no tag: the only check is at the very end (SHA-256 of all the plaintext must
 * start with the IV). So the decipher is a Transform whose last act is that check, and the file
 * helpers write into a temporary name beside the destination and rename only after the check
 * passed — a wrong key or damaged input leaves no output file behind.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Readable, Transform, type TransformCallback, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { LOMOB_IV_BYTES, lomobCtr, lomobFileKey, lomobIv } from './format.js';

export type LomobCryptoErrorKind =
  /** Fewer bytes than lomob's 16-byte IV: not a lomob file at all (or cut right at the start). */
  | 'too-short'
  /** The end-of-stream check failed and nothing tells why: wrong master key, damage or truncation. */
  | 'wrong-key-or-damaged'
  /** The check failed but the plaintext shows the key is right (an ISO header decrypted): damage. */
  | 'damaged'
  /** The caller knew the plaintext size (catalog) and the decrypted size differs. */
  | 'truncated'
  /** The caller knew the plaintext SHA-256 (catalog) and the decrypted bytes differ from it. */
  | 'hash-mismatch';

export class LomobCryptoError extends Error {
  override name = 'LomobCryptoError';
  constructor(
    readonly kind: LomobCryptoErrorKind,
    message: string,
  ) {
    super(message);
  }
}

/** What the catalog says the plaintext should be; checked in addition to lomob's own IV check. */
export interface LomobExpectation {
  size?: number;
  sha256?: Uint8Array;
}

export interface LomobDecryptResult {
  iv: Buffer;
  /** Plaintext bytes. */
  size: number;
  sha256: Buffer;
}

// ISO 9660's first volume descriptor: standard identifier "CD001" at byte 32769 of the image.
// lomob's volumes are ISOs; finding it decrypted proves the key, so a failed check means damage.
const ISO_MAGIC_AT = 32769;
const ISO_MAGIC = Buffer.from('CD001', 'latin1');

/**
 * Decrypts a lomob stream: reads the IV, derives the file key from the master key, deciphers, and
 * fails at the end unless SHA-256(plaintext) starts with the IV. Consumers must treat the bytes as
 * unverified until the stream ends without an error. `result` is set once the check passed.
 */
export class LomobDecipher extends Transform {
  result: LomobDecryptResult | null = null;
  private header: Buffer[] = [];
  private headerLen = 0;
  private iv: Buffer | null = null;
  private ctr: crypto.Cipheriv | null = null;
  private readonly hash = crypto.createHash('sha256');
  private size = 0;
  private isoProbe = Buffer.alloc(ISO_MAGIC.length);
  private isoProbeFilled = 0;

  constructor(
    private readonly masterKey: string | Uint8Array,
    private readonly expect: LomobExpectation = {},
    private readonly label = 'input',
  ) {
    super();
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    if (this.ctr) {
      this.emitPlain(chunk);
      done();
      return;
    }
    this.header.push(chunk);
    this.headerLen += chunk.length;
    if (this.headerLen < LOMOB_IV_BYTES) {
      done();
      return;
    }
    const all = Buffer.concat(this.header);
    this.header = [];
    this.iv = Buffer.from(all.subarray(0, LOMOB_IV_BYTES));
    lomobFileKey(this.masterKey, this.iv).then(
      (key) => {
        this.ctr = lomobCtr(key, this.iv!);
        this.emitPlain(all.subarray(LOMOB_IV_BYTES));
        done();
      },
      (err: Error) => done(err),
    );
  }

  private emitPlain(cipher: Buffer): void {
    if (cipher.length === 0) return;
    const plain = this.ctr!.update(cipher);
    this.probeIso(plain);
    this.hash.update(plain);
    this.size += plain.length;
    this.push(plain);
  }

  private probeIso(plain: Buffer): void {
    const start = this.size;
    const end = start + plain.length;
    const want = ISO_MAGIC_AT + this.isoProbeFilled;
    if (this.isoProbeFilled >= ISO_MAGIC.length || end <= want || start > want) return;
    const take = Math.min(ISO_MAGIC.length - this.isoProbeFilled, end - want);
    plain.copy(this.isoProbe, this.isoProbeFilled, want - start, want - start + take);
    this.isoProbeFilled += take;
  }

  override _flush(done: TransformCallback): void {
    if (!this.iv) {
      done(new LomobCryptoError('too-short', `${this.label} is not a lomob encrypted file: ${this.headerLen} bytes, lomob's header alone is ${LOMOB_IV_BYTES}`));
      return;
    }
    const tail = this.ctr!.final();
    if (tail.length > 0) this.emitPlain(tail);
    const sha256 = this.hash.digest();
    if (this.expect.size !== undefined && this.expect.size !== this.size) {
      done(new LomobCryptoError('truncated', `${this.label} decrypts to ${this.size} bytes, the catalog says ${this.expect.size}: the file is truncated or damaged`));
      return;
    }
    if (!lomobIv(sha256).equals(this.iv)) {
      done(this.checkFailed());
      return;
    }
    if (this.expect.sha256 && !sha256.equals(Buffer.from(this.expect.sha256))) {
      done(new LomobCryptoError('hash-mismatch', `${this.label} decrypts to SHA-256 ${sha256.toString('hex')}, the catalog says ${Buffer.from(this.expect.sha256).toString('hex')}`));
      return;
    }
    this.result = { iv: this.iv, size: this.size, sha256 };
    done();
  }

  private checkFailed(): LomobCryptoError {
    if (this.isoProbeFilled === ISO_MAGIC.length && this.isoProbe.equals(ISO_MAGIC)) {
      return new LomobCryptoError(
        'damaged',
        `${this.label} is damaged or truncated: the master key is right (the ISO header decrypts) but the decrypted bytes do not match the hash lomob recorded in the file's first 16 bytes`,
      );
    }
    return new LomobCryptoError(
      'wrong-key-or-damaged',
      `${this.label} does not decrypt to what lomob encrypted: the master key (LOMOB_MASTER_KEY) is wrong, or the file is damaged or truncated ` +
        `(lomob's format has no authentication tag, so these cannot be told apart)`,
    );
  }
}

/** Encrypts a stream as lomob does, with the given IV (lomob's is lomobIv(SHA-256 of the plaintext)). */
export async function createLomobCipher(masterKey: string | Uint8Array, iv: Uint8Array): Promise<Transform> {
  const ctr = lomobCtr(await lomobFileKey(masterKey, iv), iv);
  let first = true;
  return new Transform({
    transform(chunk: Buffer, _enc, done) {
      if (first) {
        first = false;
        this.push(Buffer.from(iv));
      }
      done(null, ctr.update(chunk));
    },
    flush(done) {
      if (first) this.push(Buffer.from(iv)); // an empty file is still its 16-byte IV
      done(null, ctr.final());
    },
  });
}

/**
 * Writes `produce`'s bytes to `dst` through a temporary file in the same folder, renamed over `dst`
 * only when `produce` resolves; on any error the temporary file is removed and `dst` is untouched.
 */
async function writeAtomically(dst: string, produce: (out: Writable) => Promise<void>): Promise<void> {
  const tmp = path.join(path.dirname(dst), `.${path.basename(dst)}.partial-${crypto.randomBytes(6).toString('hex')}`);
  try {
    await produce(fs.createWriteStream(tmp, { flags: 'wx', flush: true }));
    await fs.promises.rename(tmp, dst);
  } catch (err) {
    await fs.promises.rm(tmp, { force: true });
    throw err;
  }
}

/** Decrypts a lomob file (or stream) into `dst`; `dst` appears only if every check passed. */
export async function decryptLomobFile(
  src: string | Readable,
  dst: string,
  masterKey: string | Uint8Array,
  expect: LomobExpectation = {},
): Promise<LomobDecryptResult> {
  const label = typeof src === 'string' ? src : 'the lomob object';
  const decipher = new LomobDecipher(masterKey, expect, label);
  await writeAtomically(dst, (out) => pipeline(typeof src === 'string' ? fs.createReadStream(src) : src, decipher, out));
  return decipher.result!;
}

export interface LomobEncryptResult {
  iv: Buffer;
  plainSize: number;
  /** IV + ciphertext, what lomob uploads. */
  cipherSize: number;
  cipherSha256: Buffer;
}

async function sha256OfFile(file: string): Promise<Buffer> {
  const hash = crypto.createHash('sha256');
  await pipeline(fs.createReadStream(file), hash);
  return hash.digest();
}

/**
 * `lomob util encrypt`: reads `src` twice (lomob's IV is the plaintext's hash, so it is known only
 * after a first pass), unless the caller gives the IV. Output is atomic like decryption.
 */
export async function encryptLomobFile(
  src: string,
  dst: string,
  masterKey: string | Uint8Array,
  opts: { iv?: Uint8Array } = {},
): Promise<LomobEncryptResult> {
  const iv = opts.iv ? Buffer.from(opts.iv) : lomobIv(await sha256OfFile(src));
  const cipher = await createLomobCipher(masterKey, iv);
  const hash = crypto.createHash('sha256');
  let cipherSize = 0;
  const count = new Transform({
    transform(chunk: Buffer, _enc, done) {
      cipherSize += chunk.length;
      hash.update(chunk);
      done(null, chunk);
    },
  });
  await writeAtomically(dst, (out) => pipeline(fs.createReadStream(src), cipher, count, out));
  return { iv, plainSize: cipherSize - LOMOB_IV_BYTES, cipherSize, cipherSha256: hash.digest() };
}
