import { Sha256Pair } from '../crypto/sha256x2.js';

/**
 * The two whole-object SHA-256s an ObjectWriter records: of the plaintext, and of the ciphertext
 * (its chunks in index order). Both are kept on the writer's thread, and each piece of plaintext
 * is hashed together with the next piece of finished ciphertext — one interleaved pass for the
 * two streams with the two-stream addon (storage/crypto/sha256x2.ts). Finished chunks wait in a
 * queue until their ciphertext is in; `done` frees what the caller holds for them (a slot).
 */
export class ObjectHashes {
  private readonly hashes = new Sha256Pair();
  private readonly queue: { cipher: Buffer; off: number; done: () => void }[] = [];

  /** Chunks still waiting to go into the ciphertext hash. */
  get waiting(): number {
    return this.queue.length;
  }

  /** A finished chunk's ciphertext, next in index order; `done` is called once it is hashed. */
  addCiphertext(cipher: Buffer, done: () => void): void {
    this.queue.push({ cipher, off: 0, done });
  }

  /** A piece of plaintext, paired with queued ciphertext while there is some. */
  addPlaintext(piece: Buffer): void {
    let off = 0;
    while (off < piece.length && this.queue.length > 0) {
      const head = this.queue[0]!;
      const k = Math.min(piece.length - off, head.cipher.length - head.off);
      this.hashes.updateBoth(piece.subarray(off, off + k), head.cipher.subarray(head.off, head.off + k));
      off += k;
      head.off += k;
      if (head.off === head.cipher.length) {
        this.queue.shift();
        head.done();
      }
    }
    if (off < piece.length) this.hashes.update(0, off === 0 ? piece : piece.subarray(off));
  }

  /** Hashes up to `chunks` queued chunks alone (when no plaintext is coming to pair them with). */
  flushCiphertext(chunks = Infinity): void {
    for (let i = 0; i < chunks && this.queue.length > 0; i++) {
      const head = this.queue.shift()!;
      this.hashes.update(1, head.cipher.subarray(head.off));
      head.done();
    }
  }

  /** Ciphertext that needs no queue (a chunk encrypted on the writer's own thread). */
  addCiphertextNow(cipher: Buffer): void {
    this.hashes.update(1, cipher);
  }

  digests(): { plainSha256: Buffer; cipherSha256: Buffer } {
    return { plainSha256: this.hashes.digest(0), cipherSha256: this.hashes.digest(1) };
  }
}
