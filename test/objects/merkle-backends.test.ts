import { describe, expect, it, beforeAll, afterAll } from 'vitest';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { cli as run } from '../support/cli.js';
import { PASS } from './site.js';
import { openCatalog } from '../../storage/catalog/db.js';
import { loadBlake3 } from '../../storage/crypto/blake3.js';
import { merkleRoot } from '../../storage/objects/merkle.js';
import { seeded } from '../support/random.js';

const random = seeded('objects/merkle-backends.test.ts');

/**
 * The encryption workers compute each chunk's SHA-256 and Merkle root with whichever BLAKE3
 * backend the process uses: with the portable one forced (LOMO_BLAKE3=js) the catalog must hold
 * exactly what the native backend computes over the stored chunk files, and the object's
 * ciphertext SHA-256 must be that of the chunks in order — with node:crypto's SHA-256 and with the
 * two-stream addon (storage/crypto/sha256x2.ts).
 */
let tmp: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lomo-merkle-'));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

// The portable BLAKE3 with node:crypto's SHA-256 (no two-stream addon) and libsodium's push, and
// the native BLAKE3 with our addons when this machine has them (the chunk hashes then come from the
// hash worker's two-stream pass, the ciphertext from OpenSSL's push).
for (const [backend, x2, push] of [['js', 'off', 'sodium'], ['native', 'on', 'openssl']] as const) {
  describe(`iso create with the ${backend} BLAKE3 backend, two-stream SHA-256 ${x2}, ${push} push`, () => {
    it('records chunk hashes and Merkle roots that match the stored chunks', async () => {
      const dir = path.join(tmp, backend);
      const lib = path.join(dir, 'lib');
      fs.mkdirSync(lib, { recursive: true });
      for (let i = 0; i < 3; i++) fs.writeFileSync(path.join(lib, `clip${i}.mp4`), random.bytes(3_500_000));
      const db = path.join(dir, 'lomob.db');
      const objects = path.join(dir, 'objects');
      const env = { LOMOB_MASTER_KEY: PASS, LOMO_BLAKE3: backend, LOMO_ENCRYPT_WORKERS: '2', LOMO_SHA256X2: x2, LOMO_SECRETSTREAM: push };
      const cli = (...args: string[]) => run(['--db', db, ...args], { cwd: dir, env });
      expect((await cli('scan', lib)).code).toBe(0);
      expect((await cli('init', '--objects-dir', objects)).code).toBe(0);
      const made = await cli('iso', 'create', '--partial', '--json');
      expect(made.code, made.stderr).toBe(0);

      const native = await loadBlake3('native');
      const c = openCatalog(db);
      try {
        const obj = c.prepare("SELECT id, hex(object_id) AS oid, cipher_sha256, chunk_count FROM objects WHERE kind = 'volume'").get() as { id: number; oid: string; cipher_sha256: Buffer; chunk_count: number };
        expect(obj.chunk_count).toBe(2); // 10.5 MB of files in 8 MiB chunks
        const chunks = c.prepare('SELECT idx, size, sha256, merkle_root FROM chunks WHERE object_row = ? ORDER BY idx').all(obj.id) as { idx: number; size: number; sha256: Buffer; merkle_root: Buffer }[];
        const whole = createHash('sha256');
        for (const ch of chunks) {
          const bytes = fs.readFileSync(path.join(objects, obj.oid.toLowerCase(), String(ch.idx).padStart(5, '0')));
          expect(bytes.length).toBe(ch.size);
          expect(createHash('sha256').update(bytes).digest().equals(ch.sha256)).toBe(true);
          expect(merkleRoot(bytes, 64 * 1024, native).equals(ch.merkle_root), `root of chunk ${ch.idx}`).toBe(true);
          whole.update(bytes);
        }
        expect(whole.digest().equals(obj.cipher_sha256)).toBe(true);
      } finally {
        c.close();
      }
      // And the volume restores: what was stored is a whole, valid object.
      const to = path.join(dir, 'restored');
      const name = JSON.parse(made.stdout).volumes[0].name as string;
      const r = await cli('restore', 'volume', name, '--to', to);
      expect(r.code, r.stderr).toBe(0);
      expect(fs.statSync(path.join(to, name)).size).toBe(JSON.parse(made.stdout).volumes[0].size);
    });
  });
}
