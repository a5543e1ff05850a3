import { Worker } from 'node:worker_threads';
import type { SignatureCheck } from './chain.js';
import { HEADER_BYTES, SIGNATURE_BYTES, type SiteLogEntry } from './entry.js';
import { SIGNATURE_DOMAIN, SODIUM_NATIVE_PATH, SPKI_PREFIX, verifySignature } from './sign.js';

/**
 * Ed25519 checks of site log entries on a second thread. Checking signatures is about half of what
 * a log sync receiver does (libsodium, ~40 µs an entry on the project's machine), storing the
 * other half: the receiver hands batch k+1 here and stores batch k meanwhile (protocol/log/log.ts),
 * so on 2 cores the two halves overlap.
 *
 * The thread only answers "is this entry's signature valid under this key?" for encoded entries,
 * never anything else: the receiver still decodes each entry and checks chain, sequence,
 * revocation and body itself (acceptRemote), and takes a yes only for the key its own check
 * expects; any other case (a no, a succession that changed the key, a thread that failed) is
 * checked again on the calling thread by verifySignature, which also words the refusal. So the
 * thread can make a sync faster, never accept more.
 *
 * The worker is plain JavaScript evaluated from a string so that it runs the same from dist/ and
 * from TypeScript sources under vitest (as storage/iso/hash-thread.ts); it verifies exactly as
 * sign.ts verifySignature does, with the same library (test/sitelog/signature-thread.test.ts).
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const crypto = require('node:crypto');
const { HEADER, SIG } = workerData;
const DOMAIN = Buffer.from(workerData.DOMAIN);
const SPKI = Buffer.from(workerData.SPKI);
const native = workerData.sodiumPath ? require(workerData.sodiumPath).crypto_sign_verify_detached : null;
let keyHex = '', keyObject = null;
function valid(sig, msg, key) {
  try {
    if (native) return native(sig, msg, key);
    const hex = key.toString('hex');
    if (hex !== keyHex) { keyObject = crypto.createPublicKey({ key: Buffer.concat([SPKI, key]), format: 'der', type: 'spki' }); keyHex = hex; }
    return crypto.verify(null, msg, keyObject, sig);
  } catch { return false; }
}
parentPort.on('message', ({ id, bytes, key }) => {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const k = Buffer.from(key.buffer, key.byteOffset, key.byteLength);
  const ok = [];
  const msg = Buffer.alloc(DOMAIN.length + 32);
  DOMAIN.copy(msg);
  for (let at = 0; at + HEADER <= buf.length; ) {
    const len = HEADER + buf.readUInt32LE(at + HEADER - 4) + SIG;
    if (at + len > buf.length) break;
    crypto.createHash('sha256').update(buf.subarray(at, at + len - SIG)).digest().copy(msg, DOMAIN.length);
    ok.push(valid(buf.subarray(at + len - SIG, at + len), msg, k) ? 1 : 0);
    at += len;
  }
  parentPort.postMessage({ id, ok: Uint8Array.from(ok) });
});
`;

interface Pending {
  resolve: (ok: Uint8Array) => void;
  reject: (err: Error) => void;
}

export class SignatureThread {
  private readonly worker: Worker;
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;
  private failed: Error | null = null;

  constructor() {
    this.worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: {
        HEADER: HEADER_BYTES,
        SIG: SIGNATURE_BYTES,
        DOMAIN: Uint8Array.from(SIGNATURE_DOMAIN),
        SPKI: Uint8Array.from(SPKI_PREFIX),
        sodiumPath: SODIUM_NATIVE_PATH,
      },
      // Small heaps: the thread holds one batch (a few MB of entries) at a time.
      resourceLimits: { maxYoungGenerationSizeMb: 2, maxOldGenerationSizeMb: 16 },
    });
    this.worker.unref(); // never keeps a node (or a test) alive on its own
    this.worker.on('message', (m: { id: number; ok: Uint8Array }) => {
      const p = this.pending.get(m.id);
      this.pending.delete(m.id);
      p?.resolve(m.ok);
    });
    const fail = (err: Error) => {
      this.failed ??= err;
      for (const p of this.pending.values()) p.reject(err);
      this.pending.clear();
    };
    this.worker.on('error', fail);
    this.worker.on('exit', (code) => fail(new Error(`signature thread exited (${code})`)));
  }

  /**
   * Whether each of `entries` (encoded, as they came) carries a valid signature by `key`: one byte
   * per entry, 1 valid, 0 not. Rejects if the thread failed.
   */
  verify(entries: readonly Buffer[], key: Buffer): Promise<Uint8Array> {
    if (this.failed) return Promise.reject(this.failed);
    const total = entries.reduce((s, b) => s + b.length, 0);
    // A fresh buffer (never Node's shared pool) handed over to the thread without a copy.
    const bytes = new Uint8Array(total);
    let at = 0;
    for (const b of entries) {
      bytes.set(b, at);
      at += b.length;
    }
    return new Promise<Uint8Array>((resolve, reject) => {
      const id = this.nextId++;
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ id, bytes, key: Uint8Array.from(key) }, [bytes.buffer]);
    });
  }

  /**
   * Starts checking `entries` against `key`; resolves to a SignatureCheck for acceptRemote that
   * takes the thread's yes for those very entries (their `bytes`) and that key, and verifies
   * anything else itself. Never rejects: if the thread failed, every check is made by the caller.
   */
  check(entries: readonly Buffer[], key: Buffer): Promise<SignatureCheck> {
    return this.verify(entries, key).then(
      (ok) => {
        const valid = new Set<Buffer>();
        if (ok.length === entries.length) entries.forEach((b, i) => ok[i] === 1 && valid.add(b));
        return (e: SiteLogEntry, publicKey: Buffer) => (valid.has(e.bytes) && publicKey.equals(key)) || verifySignature(e, publicKey);
      },
      () => verifySignature,
    );
  }

  /** Ends the thread; checks still pending resolve to checks made on the calling thread. */
  async close(): Promise<void> {
    await this.worker.terminate();
  }
}
