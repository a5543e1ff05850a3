/**
 * Worker side of WorkerSha256: keeps one running SHA-256 and updates it with views of the
 * caller's SharedArrayBuffers (no copy), answering each update so the caller can reuse the buffer.
 */
import { createHash } from 'node:crypto';
import { parentPort } from 'node:worker_threads';

export type Sha256Request = { op: 'update'; sab: SharedArrayBuffer; offset: number; length: number } | { op: 'digest' };

const hash = createHash('sha256');
parentPort!.on('message', (m: Sha256Request) => {
  if (m.op === 'update') {
    hash.update(new Uint8Array(m.sab, m.offset, m.length));
    parentPort!.postMessage(null);
  } else {
    parentPort!.postMessage(hash.digest());
  }
});
