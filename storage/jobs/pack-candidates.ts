/**
 * What `packVolumes` packs: the staging files that still are what the catalog says, and the writer
 * entries (files plus the folders above them) of one planned group.
 */
import fs from 'node:fs';
import type { Db } from '../catalog/db.js';
import { stagingFiles } from '../catalog/library.js';
import { foldersAbove, rootFolderName, type PlanFile } from '../iso/plan.js';
import type { VolumeEntry } from '../iso/writer.js';
import { displayPath, toBuffer, type ByteString } from '../util/bytes-path.js';

/** A staging file that passed the pack-time check, with what the writer needs. */
export interface Candidate extends PlanFile {
  abs: Buffer;
  mode: number;
  imagePath: ByteString;
}

/**
 * Staging files that still are what the catalog says (size and mtime); the others are skipped,
 * each reported through `skip` with the reason, and wait for the next scan.
 */
export function candidates(db: Db, skip: (message: string) => void): { ok: Candidate[]; skipped: number } {
  const ok: Candidate[] = [];
  let skipped = 0;
  // Two scan roots whose names join to the same folder name get the root id appended.
  const folderOf = new Map<ByteString, ByteString>();
  const used = new Map<ByteString, ByteString>();
  const folder = (root: ByteString) => {
    let f = folderOf.get(root);
    if (f !== undefined) return f;
    f = rootFolderName(root);
    for (let n = 2; used.has(f) && used.get(f) !== root; n++) f = `${rootFolderName(root)}_${n}`;
    used.set(f, root);
    folderOf.set(root, f);
    return f;
  };
  for (const f of stagingFiles(db)) {
    const abs = toBuffer(f.path);
    let st: fs.Stats;
    try {
      st = fs.statSync(abs);
      fs.accessSync(abs, fs.constants.R_OK); // an unreadable file would fail its whole volume later
    } catch (err) {
      skip(`skipping ${displayPath(f.path)}: ${(err as NodeJS.ErrnoException).code ?? err}; run scan to record it`);
      skipped++;
      continue;
    }
    if (!st.isFile() || st.size !== f.size || Math.abs(st.mtimeMs - f.mtimeMs) > 0.001) {
      skip(`skipping ${displayPath(f.path)}: changed since it was scanned; run scan, then iso create again`);
      skipped++;
      continue;
    }
    ok.push({ id: f.id, rootPath: f.rootPath, relPath: f.relPath, size: f.size, mtimeMs: f.mtimeMs, abs, mode: st.mode & 0o7777, imagePath: `${folder(f.rootPath)}/${f.relPath}` });
  }
  return { ok, skipped };
}

/** Writer entries for one group: its files plus every folder above them, with catalog times. */
export function entriesFor(group: Candidate[], times: Map<ByteString, number>): VolumeEntry[] {
  const dirs = foldersAbove(group.map((f) => f.imagePath));
  const newest = Math.max(...group.map((f) => f.mtimeMs));
  const dirEntries: VolumeEntry[] = [...dirs].sort().map((d) => ({ path: d, size: 0, mtimeMs: times.get(d) ?? newest, mode: 0o755, kind: 'dir' }));
  return [...dirEntries, ...group.map((f): VolumeEntry => ({ path: f.imagePath, source: f.abs, size: f.size, mtimeMs: f.mtimeMs, mode: f.mode, kind: 'file' }))];
}
