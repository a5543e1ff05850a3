import { describe, expect, it, beforeAll, afterAll } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { loadSodium, type Sodium } from '../../storage/crypto/sodium.js';
import { SiteKeys } from '../../storage/crypto/keys.js';
import { FileTier } from '../../storage/tiers/file.js';
import { ObjectWriter, writeObject } from '../../storage/objects/writer.js';
import { decryptObject, readRange } from '../../storage/objects/reader.js';
import { chunkCount, objectCipherSize } from '../../storage/objects/format.js';
import { merkleRoot } from '../../storage/objects/merkle.js';
import { seeded } from '../support/random.js';

const random = seeded('objects/roundtrip.test.ts');

const MiB = 1024 * 1024;
let dir: string;
let sodium: Sodium;
let keys: SiteKeys;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lomo-obj-'));
  sodium = await loadSodium('native');
  keys = new SiteKeys(sodium, random.bytes(32));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function collect(): { sink: Writable; bytes: () => Buffer } {
  const parts: Buffer[] = [];
  return { sink: new Writable({ write: (c, _e, cb) => (parts.push(c), cb()) }), bytes: () => Buffer.concat(parts) };
}

describe('object writer and reader', () => {
  for (const workers of [0, 2]) {
    it(`round-trips sizes around chunk and message edges (workers=${workers})`, async () => {
      const tier = new FileTier(path.join(dir, `t${workers}`));
      const messageSize = 64 * 1024;
      const chunkPlain = 4 * messageSize;
      for (const size of [0, 1, messageSize, chunkPlain - 1, chunkPlain, chunkPlain + 1, 3 * chunkPlain + 12345]) {
        const plain = random.bytes(size);
        const w = new ObjectWriter({ sodium, keys, tier, kind: 'volume', messageSize, chunkPlain, workers });
        await pipeline(Readable.from(splitRandomly(plain)), w);
        const rec = await w.result;
        expect(rec.plainSize).toBe(size);
        expect(rec.plainSha256.equals(createHash('sha256').update(plain).digest())).toBe(true);
        expect(rec.chunks.length).toBe(chunkCount(size, chunkPlain));
        expect(rec.cipherSize).toBe(objectCipherSize(size, { messageSize, chunkPlain }));
        // Chunk hashes and Merkle roots are of the stored bytes.
        const whole: Buffer[] = [];
        for (const c of rec.chunks) {
          const stored = fs.readFileSync(path.join(tier.root, rec.objectId.toString('hex'), String(c.index).padStart(5, '0')));
          expect(createHash('sha256').update(stored).digest().equals(c.sha256)).toBe(true);
          expect(merkleRoot(stored).equals(c.merkleRoot)).toBe(true);
          whole.push(stored);
        }
        expect(createHash('sha256').update(Buffer.concat(whole)).digest().equals(rec.cipherSha256)).toBe(true);
        const { sink, bytes } = collect();
        await decryptObject({ sodium, keys, tier }, rec, sink);
        expect(bytes().equals(plain)).toBe(true);
        if (size > 10) {
          const off = Math.floor(size / 3);
          const len = Math.min(size - off, chunkPlain + 7);
          expect((await readRange({ sodium, keys, tier }, rec, off, len)).equals(plain.subarray(off, off + len))).toBe(true);
        }
      }
    });
  }

  it.runIf(process.platform === 'linux')('runs its threads below the reading thread’s priority (nice 10)', async () => {
    const tier = new FileTier(path.join(dir, 'nice'));
    const niceOfThreads = () =>
      fs.readdirSync('/proc/self/task').map((t) => Number(fs.readFileSync(`/proc/self/task/${t}/stat`, 'utf8').split(') ')[1]!.split(' ')[16]));
    const before = niceOfThreads();
    expect(new Set(before).size).toBe(1);
    let during: number[] = [];
    const w = new ObjectWriter({
      sodium, keys, tier, kind: 'volume', messageSize: 64 * 1024, chunkPlain: 256 * 1024, workers: 2,
      onChunk: () => (during.length ? undefined : (during = niceOfThreads())),
    });
    await pipeline(Readable.from(splitRandomly(random.bytes(4 * MiB))), w);
    await w.result;
    // The pool's threads go to nice 10 unless the process already runs nicer (they never raise it).
    const base = before[0]!;
    if (base < 10) {
      expect(during.filter((n) => n === 10).length).toBe(3); // two encryption workers and the hash worker
      expect(during.filter((n) => n === base).length).toBe(during.length - 3);
    } else expect(during.every((n) => n === base)).toBe(true);
  });

  for (const workers of [0, 1]) {
    it(`pullFrom fills chunk buffers straight from a producer (workers=${workers})`, async () => {
      const tier = new FileTier(path.join(dir, `pull${workers}`));
      const messageSize = 64 * 1024;
      const chunkPlain = 2 * messageSize;
      for (const size of [0, 5, chunkPlain, 3 * chunkPlain + 999]) {
        const plain = random.bytes(size);
        let pos = 0;
        const w = new ObjectWriter({ sodium, keys, tier, kind: 'volume', messageSize, chunkPlain, workers });
        // As the ISO cursor: fills the whole buffer, fewer bytes only at the end.
        const rec = await w.pullFrom(async (buf) => {
          const n = Math.min(buf.length, plain.length - pos);
          plain.copy(buf, 0, pos, pos + n);
          pos += n;
          return n;
        });
        expect(rec.plainSize).toBe(size);
        expect(rec.chunks.length).toBe(chunkCount(size, chunkPlain));
        const { sink, bytes } = collect();
        await decryptObject({ sodium, keys, tier }, rec, sink);
        expect(bytes().equals(plain)).toBe(true);
      }
    });
  }

  it('writes small objects from memory; the wasm backend reads what native wrote and back', async () => {
    const tier = new FileTier(path.join(dir, 'small'));
    const wasm = await loadSodium('wasm');
    const master = random.bytes(32);
    const kn = new SiteKeys(sodium, master);
    const kw = new SiteKeys(wasm, master);
    const rec = await writeObject({ sodium, keys: kn, tier, kind: 'manifest' }, Buffer.from('hello manifest'));
    const a = collect();
    await decryptObject({ sodium: wasm, keys: kw, tier }, rec, a.sink);
    expect(a.bytes().toString()).toBe('hello manifest');
    const big = random.bytes(3 * 1024 * 1024 + 5);
    const rec2 = await writeObject({ sodium: wasm, keys: kw, tier, kind: 'file', workers: 2 }, big);
    const b = collect();
    await decryptObject({ sodium, keys: kn, tier }, rec2, b.sink);
    expect(b.bytes().equals(big)).toBe(true);
  });
});

function* splitRandomly(b: Buffer): Generator<Buffer> {
  let off = 0;
  while (off < b.length) {
    const n = Math.min(b.length - off, 1 + Math.floor(random.next() * 100_000));
    yield b.subarray(off, off + n);
    off += n;
  }
}
