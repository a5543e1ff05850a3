/**
 * Recover benchmark (issue 14: `recover` of a 100,000-file catalog in <= 60 s, peak RSS <= 200 MB).
 * Prints JSON. Phase 1 (this process) builds a site's log through the real writers: a site started
 * as `init` does, BENCH_FILES file versions (default 100,000) in 1,000 folders written in scan
 * batches of 512 (ScanStore, one catalog delta per batch), packed into 20 volumes (registerVolume,
 * saveObject of each volume with 600 chunks and its manifest) and archived (recordPlacement).
 * Phase 2 runs in a child process so its peak RSS is its own: it reads the entries and runs
 * recoverSite into an empty catalog — verify every entry, Argon2id with the site's parameters
 * (64 MiB), check, rebuild, succession.
 * Run after `npx tsc -p tsconfig.json`: node dist/deploy/bench/recover-bench.js
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { ownPeakRssMB } from './bench-tree.js';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { openCatalog } from '../../storage/catalog/db.js';
import { deriveSiteKeys, newKdfParams } from '../../storage/crypto/keys.js';
import { loadSodium } from '../../storage/crypto/sodium.js';
import { saveObject, saveSiteKeys } from '../../storage/objects/catalog.js';
import { registerVolume } from '../../storage/iso/volume-store.js';
import { recordPlacement } from '../../storage/placements/placements.js';
import { ScanStore } from '../../storage/scan/scan-store.js';
import { startLocalLog } from '../../storage/sitelog/local-log.js';
import { recoverSite, storedEntries } from '../../storage/sitelog/rebuild.js';
import { signingKeyFromSeed } from '../../storage/sitelog/sign.js';
import { siteIdOfKey } from '../../storage/sitelog/site-id.js';
import { fromBuffer } from '../../storage/util/bytes-path.js';
import { tuneHeap } from '../../node/heap.js';

const FILES = Number(process.env.BENCH_FILES ?? 100_000);
const VOLUMES = 20;
const PASS = 'recover bench passphrase';
const det = (label: string, n = 32) => {
  const out = Buffer.alloc(Math.ceil(n / 32) * 32);
  for (let i = 0; i < n; i += 32) createHash('sha256').update(`${label}:${i}`).digest().copy(out, i);
  return out.subarray(0, n);
};

async function build(dir: string): Promise<{ dbFile: string; entries: number; logBytes: number; buildSeconds: number }> {
  const t0 = performance.now();
  const sodium = await loadSodium();
  const dbFile = path.join(dir, 'source.db');
  const db = openCatalog(dbFile);
  const kdf = newKdfParams(sodium, 1);
  const keys = deriveSiteKeys(sodium, PASS, kdf);
  const signing = signingKeyFromSeed(det('identity'));
  db.transaction(() => {
    saveSiteKeys(db, { siteId: siteIdOfKey(signing.publicKey), formatVersion: 1, kdf, keyCheck: Buffer.from(keys.checkValue), objectsUrl: `file://${dir}/objects`, createdAt: Date.now() });
    startLocalLog(db, { sodium, keys, kdf, formatVersion: 1, signing });
  })();
  const store = new ScanStore(db);
  const root = store.ensureRoot(fromBuffer(Buffer.from('/home/family/Pictures')));
  const dirs: number[] = [];
  for (let d = 0; d < 1000; d++) dirs.push(store.insertDir(root, fromBuffer(Buffer.from(`${2000 + (d % 25)}/album-${d}`)), Date.now()));
  const now = Date.now();
  for (let i = 0; i < FILES; i += 512) {
    store.transaction(() => {
      for (let j = i; j < Math.min(FILES, i + 512); j++) {
        store.addVersion({
          dirId: dirs[j % dirs.length]!, name: fromBuffer(Buffer.from(`IMG_${String(j).padStart(6, '0')}.JPG`)), kind: 'file', size: 2_000_000 + (j % 5000) * 1000,
          mtimeMs: 1.6e12 + j * 1000.25, ino: 100000 + j, dev: 2049, sha256: det(`f${j}`), linkTarget: null,
        }, now);
      }
    });
  }
  store.transaction(() => store.finishRoot(root));
  const ids = db.prepare('SELECT id, size FROM files ORDER BY id').raw(true).all() as [number, number][];
  const per = Math.ceil(ids.length / VOLUMES);
  for (let v = 0; v < VOLUMES; v++) {
    const part = ids.slice(v * per, (v + 1) * per);
    let offset = 0;
    const files = part.map(([fileId, size]) => {
      const f = { fileId, isoPath: fromBuffer(Buffer.from(`/album/IMG_${fileId}.JPG`)), offset, length: size };
      offset += Math.ceil(size / 2048) * 2048;
      return f;
    });
    const object = (kind: 'volume' | 'manifest', n: number) => ({
      objectId: det(`${kind}${v}`, 16), kind, formatVersion: 1, messageSize: 1 << 20, chunkPlain: 8 << 20, plainSize: offset, plainSha256: det(`p${kind}${v}`),
      cipherSize: offset + n * 1000, cipherSha256: det(`c${kind}${v}`),
      chunks: Array.from({ length: n }, (_, i) => ({ index: i, size: 8 << 20, sha256: det(`s${kind}${v}.${i}`), merkleRoot: det(`m${kind}${v}.${i}`) })),
    });
    db.transaction(() => {
      const id = registerVolume(db, { name: `vol-${v}.iso`, size: offset, sha256: det(`v${v}`), localPath: null, files });
      const rec = object('volume', 600);
      saveObject(db, rec, { volumeId: id });
      saveObject(db, object('manifest', 1), { volumeId: id });
      recordPlacement(db, { volumeId: id, tierUrl: 'file:///mnt/nas/archive', key: `root/vol-${v}.iso`, size: rec.cipherSize, sha256: rec.cipherSha256 });
    })();
  }
  const entries = db.prepare('SELECT count(*), sum(length(bytes)) FROM sitelog_entries').raw(true).get() as [number, number];
  db.close();
  return { dbFile, entries: entries[0], logBytes: entries[1], buildSeconds: (performance.now() - t0) / 1000 };
}

async function recover(dbFile: string, target: string): Promise<void> {
  tuneHeap(); // as the recover command does
  const src = openCatalog(dbFile, { create: false });
  const origin = src.prepare('SELECT origin FROM sitelog_local').pluck().get() as Buffer;
  const t0 = performance.now();
  // As the log would come from peers: read a page at a time, never whole in memory.
  const entries = { [Symbol.iterator]: () => storedEntries(src, origin) };
  const db = openCatalog(target);
  const r = await recoverSite(db, { entries, passphrase: PASS, successor: signingKeyFromSeed(det('new machine')) });
  src.close();
  const files = db.prepare('SELECT count(*) FROM files').pluck().get();
  db.close();
  process.stdout.write(JSON.stringify({
    recoverSeconds: (performance.now() - t0) / 1000,
    maxRssMB: ownPeakRssMB(), getrusageMaxRssMB: Math.round(process.resourceUsage().maxRSS / 1024), files, volumes: r.volumes, objects: r.objects, placements: r.placements,
  }));
}

async function main(): Promise<void> {
  if (process.argv[2] === '--recover') return recover(process.argv[3]!, process.argv[4]!);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lomo-recover-bench-'));
  try {
    const b = await build(dir);
    const out = execFileSync(process.execPath, [fileURLToPath(import.meta.url), '--recover', b.dbFile, path.join(dir, 'recovered.db')], { maxBuffer: 1 << 20 }).toString();
    const r = JSON.parse(out) as Record<string, number>;
    console.log(JSON.stringify({
      bench: 'recover', files: FILES, volumes: VOLUMES, entries: b.entries, logMB: +(b.logBytes / 1e6).toFixed(1), buildSeconds: +b.buildSeconds.toFixed(2),
      ...r, limits: { seconds: 60, maxRssMB: 200 }, loadavg: os.loadavg(), cpus: os.cpus().length, node: process.version,
    }, null, 2));
  } finally {
    if (!process.env.BENCH_KEEP) fs.rmSync(dir, { recursive: true, force: true });
  }
}

await main();
