import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadSha256x2, type Sha256x2 } from '../../storage/crypto/sha256x2.js';
import { LaneHasher, type HashProgress, type HashReply, type HashRequest } from '../../storage/scan/hash-worker.js';
import { seeded } from '../support/random.js';

/**
 * The scan's hashing worker, in this process: with the SHA-256 addon it reads two files at a time
 * and hashes them interleaved, pulling the next batch in while one is still open; without it, one
 * file at a time through node:crypto. Both must give every file's exact SHA-256 and answer every
 * batch once, whole, including files that fail.
 */
const random = seeded('scan/hash-lanes.test.ts');
const MiB = 1 << 20;
const dir = fs.mkdtempSync(path.join(process.env.TMPDIR ?? '/tmp', 'lomo-lanes-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

// Sizes around the SHA-256 block (64 B) and the worker's read size (1 MiB), plus random ones.
const sizes = [0, 1, 55, 56, 63, 64, 65, 4095, MiB - 1, MiB, MiB + 1, 2 * MiB + 64, 3 * MiB + 7, 0, 17];
for (let i = 0; i < 12; i++) sizes.push(random.int(2.5 * MiB));
const files = sizes.map((size, i) => {
  const p = path.join(dir, `f${i}.bin`);
  fs.writeFileSync(p, random.bytes(size));
  return p;
});
const missing = path.join(dir, 'missing.bin');
const link = path.join(dir, 'link.bin');
fs.symlinkSync(files[3]!, link);
const expected = new Map(files.map((p) => [p, createHash('sha256').update(fs.readFileSync(p)).digest('hex')]));

/** Runs batches of requests through a LaneHasher: the first batch given, the rest pulled through `more()`. */
function hashAll(x2: Sha256x2 | null, batches: string[][]) {
  let id = 0;
  const paths = new Map<number, string>();
  const reqs: HashRequest[][] = batches.map((b) =>
    b.map((p) => {
      paths.set(++id, p);
      return { id, path: Buffer.from(p) };
    }),
  );
  const answered: HashReply[][] = [];
  const pending = [...reqs];
  const hasher = new LaneHasher(
    x2,
    (msg: HashReply[] | HashProgress) => {
      if (Array.isArray(msg)) answered.push(msg);
    },
    () => pending.shift(),
  );
  hasher.add(pending.shift()!);
  hasher.run();
  return { answered, paths, reqs };
}

function check(x2: Sha256x2 | null) {
  const batches = [files.slice(0, 3), [files[3]!, missing, files[4]!, link], files.slice(5, 6), [], files.slice(6, 20), files.slice(20)];
  const { answered, paths, reqs } = hashAll(x2, batches);
  // Every batch answered once, whole (a batch's ids together in one message).
  const asSets = (xs: { id: number }[][]) => xs.map((b) => b.map((r) => r.id).sort((a, c) => a - c).join(',')).sort();
  expect(asSets(answered)).toEqual(asSets(reqs));
  for (const r of answered.flat()) {
    const p = paths.get(r.id)!;
    if (p === missing) {
      expect(r).toMatchObject({ ok: false, code: 'ENOENT' });
    } else if (p === link) {
      expect(r).toMatchObject({ ok: false, code: 'ELOOP' });
    } else {
      expect(r, p).toMatchObject({ ok: true });
      if (!r.ok) continue;
      const size = fs.statSync(p).size;
      expect(Buffer.from(r.sha256).toString('hex'), p).toBe(expected.get(p));
      expect(r.bytesRead).toBe(size);
      expect(r.before.size).toBe(size);
      expect(r.after).toEqual(r.before);
    }
  }
}

describe('scan hashing worker (lanes)', () => {
  const x2 = loadSha256x2();

  it('hashes one file at a time through node:crypto without the addon', () => check(null));

  it.runIf(x2)('hashes two files at a time, interleaved, with the addon: same digests', () => {
    let pairs = 0;
    const a = x2!;
    // (The addon's exports are not enumerable: wrap each one.)
    const counting: Sha256x2 = {
      supported: () => a.supported(),
      init: (s) => a.init(s),
      update: (s, d) => a.update(s, d),
      update2: (sa, da, sb, db) => (pairs++, a.update2(sa, da, sb, db)),
      digest: (s) => a.digest(s),
    };
    check(counting);
    expect(pairs).toBeGreaterThan(0);

    // Six files of 2 MiB + 5 B in one batch: three pairs of files side by side, each read in three
    // chunks (1 MiB, 1 MiB, 5 B) hashed together: 9 interleaved passes, none alone.
    pairs = 0;
    const same = Array.from({ length: 6 }, (_, i) => {
      const p = path.join(dir, `same${i}.bin`);
      fs.writeFileSync(p, random.bytes(2 * MiB + 5));
      expected.set(p, createHash('sha256').update(fs.readFileSync(p)).digest('hex'));
      return p;
    });
    const { answered, paths } = hashAll(counting, [same]);
    expect(answered).toHaveLength(1);
    for (const r of answered[0]!) expect(r.ok && Buffer.from(r.sha256).toString('hex')).toBe(expected.get(paths.get(r.id)!));
    expect(pairs).toBe(9);
  });

  it.runIf(x2)('reads on past the size a file had when opened if it grew meanwhile, and says so', () => {
    const p = path.join(dir, 'growing.bin');
    const start = random.bytes(300_000);
    fs.writeFileSync(p, start);
    const more = random.bytes(1000);
    const a = x2!;
    let grown = false;
    // The file grows while its first chunk is being hashed (after the read that reached its opening size).
    const growing: Sha256x2 = {
      supported: () => a.supported(),
      init: (s) => a.init(s),
      update: (s, d) => {
        if (!grown) (grown = true), fs.appendFileSync(p, more);
        a.update(s, d);
      },
      update2: (sa, da, sb, db) => a.update2(sa, da, sb, db),
      digest: (s) => a.digest(s),
    };
    const { answered } = hashAll(growing, [[p]]);
    const r = answered[0]![0]!;
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.before.size).toBe(300_000);
    expect(r.after.size).toBe(301_000);
    expect(r.bytesRead).toBe(301_000);
    expect(Buffer.from(r.sha256).toString('hex')).toBe(createHash('sha256').update(Buffer.concat([start, more])).digest('hex'));
  });
});
