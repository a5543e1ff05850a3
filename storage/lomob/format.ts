/**
 * lomob's encryption format (lomorage/lomo-backup: common/crypto/crypto.go, common/io/crypto.go,
 * cmd/lomob/crypt.go), as every lomob command writes it — `util encrypt`, `upload iso` (S3) and
 * `upload files` (Google Drive) alike:
 *
 *     file = IV (16 bytes) || AES-256-CTR(K, IV, plaintext)
 *     K    = Argon2id(password = LOMOB_MASTER_KEY bytes, salt = IV, t = 1, m = 64 MiB, p = 4, 32 bytes)
 *     IV   = first 16 bytes of SHA-256(plaintext)
 *
 * There is no version byte, no MAC and no length. What makes damage and a wrong key detectable at
 * all is that lomob takes the IV from the plaintext's own hash: after decrypting everything,
 * SHA-256(plaintext)[0..16) must equal the IV. docs/lomob.md says what that check can and cannot
 * tell apart.
 */
import crypto from 'node:crypto';

export const LOMOB_IV_BYTES = 16;

/** Argon2id parameters of common/crypto/crypto.go (argon2.IDKey(masterKey, salt, 1, 64*1024, 4, 32)). */
export const LOMOB_KDF = Object.freeze({ passes: 1, memoryKiB: 64 * 1024, parallelism: 4, keyBytes: 32 });

/** lomob's IV for a plaintext whose SHA-256 is `sha256`: its first 16 bytes (cmd/lomob/crypt.go genSalt). */
export function lomobIv(sha256: Uint8Array): Buffer {
  if (sha256.length < LOMOB_IV_BYTES) throw new RangeError(`a SHA-256 has 32 bytes, got ${sha256.length}`);
  return Buffer.from(sha256.subarray(0, LOMOB_IV_BYTES));
}

function masterKeyBytes(masterKey: string | Uint8Array): Buffer {
  // Go's []byte(string) is the string's UTF-8 bytes; lomob reads the key from a flag or a terminal.
  return typeof masterKey === 'string' ? Buffer.from(masterKey, 'utf8') : Buffer.from(masterKey);
}

/**
 * The AES-256 key of one lomob file. lomob runs Argon2id (64 MiB) once per file because the salt
 * is the file's IV; this runs on libuv's thread pool so that several files can be prepared at once.
 */
export async function lomobFileKey(masterKey: string | Uint8Array, iv: Uint8Array): Promise<Buffer> {
  if (iv.length !== LOMOB_IV_BYTES) throw new RangeError(`lomob's IV has ${LOMOB_IV_BYTES} bytes, got ${iv.length}`);
  const message = masterKeyBytes(masterKey);
  const nativeArgon2 = (crypto as { argon2?: typeof crypto.argon2 }).argon2;
  if (typeof nativeArgon2 === 'function') {
    return new Promise((resolve, reject) =>
      nativeArgon2(
        'argon2id',
        { message, nonce: Buffer.from(iv), parallelism: LOMOB_KDF.parallelism, tagLength: LOMOB_KDF.keyBytes, memory: LOMOB_KDF.memoryKiB, passes: LOMOB_KDF.passes },
        (err, key) => (err ? reject(err) : resolve(Buffer.from(key))),
      ),
    );
  }
  // Node < 24.7 has no node:crypto argon2 (engines allow Node 22): the portable implementation.
  const { argon2idAsync } = await import('@noble/hashes/argon2.js');
  const key = await argon2idAsync(message, iv, { t: LOMOB_KDF.passes, m: LOMOB_KDF.memoryKiB, p: LOMOB_KDF.parallelism, dkLen: LOMOB_KDF.keyBytes });
  return Buffer.from(key);
}

/**
 * AES-256-CTR as Go's cipher.NewCTR: the 16-byte IV is the initial counter block and the whole
 * block is incremented big-endian, which is OpenSSL's aes-256-ctr too. CTR is its own inverse.
 */
export function lomobCtr(key: Buffer, iv: Uint8Array): crypto.Cipheriv {
  return crypto.createCipheriv('aes-256-ctr', key, Buffer.from(iv));
}
