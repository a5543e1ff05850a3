/**
 * `restore file` for files in a lomob volume (docs/lomob.md §6). lomob recorded which volume holds
 * a file but not where in the image, so the image is needed: a local copy if one is found (by
 * size and SHA-256 against the catalog, never by name: lomob can leave another image under a
 * volume's name, §4), else lomob's object in the archive tier, decrypted into a private temporary
 * file. Each file is then read from the image with our ISO reader and placed like any restore
 * (size and SHA-256 checked against the catalog before the rename).
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Db } from '../catalog/db.js';
import { IsoReader } from '../iso/reader.js';
import { lomobFiles, lomobImagePaths, type LomobFile, type LomobVolume } from '../lomob/archives.js';
import { findCopies } from '../objects/copies.js';
import { placeFile } from '../objects/restore.js';
import type { Tier } from '../tiers/tier.js';
import { JobError, noProgress, type ProgressFn } from './job.js';
import type { RestoreFilesResult } from './restore-files.js';
import { fetchLomobVolume, lomobJobError, type LomobKey } from './restore-lomob.js';
import { prepareTarget, restoreError } from './restore-target.js';

const JOB = 'restore file';

/** The files at or under each path that only a lomob volume holds (no lomo-peer copy of that version). */
export function lomobOnlyCopies(db: Db, paths: string[]): { copies: LomobFile[]; ownPaths: string[] } {
  const copies = new Map<string, LomobFile>();
  const ownPaths: string[] = [];
  for (const p of paths) {
    const wanted = Buffer.from(path.resolve(p));
    const own = findCopies(db, wanted);
    const ownIds = new Set(own.map((c) => c.fileId));
    const lomob = lomobFiles(db, wanted).filter((f) => f.volume && !ownIds.has(f.fileId));
    for (const f of lomob) copies.set(f.libraryPath.toString('latin1'), f);
    if (own.length > 0 || lomob.length === 0) ownPaths.push(p);
  }
  return { copies: [...copies.values()], ownPaths };
}

export interface RestoreLomobFilesOptions {
  to: string;
  /** Folders to look in for local images (lomob wrote them into its working folder). */
  isoDirs: string[];
  /** The archive tier holding lomob's objects, opened only when no local image is found. */
  archive?: () => Promise<Tier>;
  masterKey: LomobKey;
  concurrency?: number;
  onProgress?: ProgressFn;
}

async function sha256File(file: string): Promise<Buffer> {
  const h = crypto.createHash('sha256');
  for await (const c of fs.createReadStream(file)) h.update(c as Buffer);
  return h.digest();
}

/** A local image of `vol`: a file in one of `dirs` with the recorded size and SHA-256. */
export async function findLocalImage(vol: LomobVolume, dirs: string[]): Promise<string | null> {
  if (!vol.sha256) return null;
  for (const dir of dirs) {
    let names: string[];
    try {
      names = fs.readdirSync(dir);
    } catch {
      continue;
    }
    // The volume's own name first: the likely candidate, still only accepted by its hash.
    names.sort((a, b) => Number(b === vol.name) - Number(a === vol.name));
    for (const n of names) {
      const f = path.join(dir, n);
      const st = fs.statSync(f, { throwIfNoEntry: false });
      if (st?.isFile() && st.size === vol.size && (await sha256File(f)).equals(vol.sha256)) return f;
    }
  }
  return null;
}

export async function restoreLomobFiles(db: Db, copies: LomobFile[], opts: RestoreLomobFilesOptions): Promise<RestoreFilesResult> {
  const say = opts.onProgress ?? noProgress;
  const result: RestoreFilesResult = { restored: [], failed: [] };
  const byVolume = new Map<number, LomobFile[]>();
  for (const c of copies) byVolume.set(c.volume!.id, [...(byVolume.get(c.volume!.id) ?? []), c]);
  const cleanup = prepareTarget(opts.to);
  const fail = (c: LomobFile, e: unknown) => {
    const shown = c.libraryPath.toString();
    const error = restoreError(lomobJobError(e), shown);
    if (!error) throw e;
    result.failed.push({ path: shown, error });
    say({ job: JOB, item: shown, message: error.message, level: 'warn', error });
  };
  try {
    for (const files of byVolume.values()) {
      const vol = files[0]!.volume!;
      let tmpDir: string | null = null;
      let reader: IsoReader | null = null;
      try {
        let image = await findLocalImage(vol, opts.isoDirs);
        if (image) say({ job: JOB, item: vol.name, message: `reading ${vol.name} from the local image ${image}` });
        else {
          if (!opts.archive) throw new JobError(`no local image of lomob volume ${vol.name} (${vol.size} bytes, SHA-256 ${vol.sha256?.toString('hex') ?? 'unknown'}) in ${opts.isoDirs.join(', ')}; pass --iso-dir, or AWS options to fetch it`, 'input');
          tmpDir = fs.mkdtempSync(path.join(os.tmpdir(), 'lomo-lomob-volume-'));
          image = path.join(tmpDir, 'volume.iso');
          const tier = await opts.archive();
          say({ job: JOB, item: vol.name, message: `fetching lomob volume ${vol.name} from ${tier.url}` });
          await fetchLomobVolume(tier, vol, image, opts.masterKey, opts.concurrency ?? 3);
        }
        reader = await IsoReader.open(image);
        for (const c of files) {
          const shown = c.libraryPath.toString();
          try {
            let entry = null;
            for (const p of lomobImagePaths(c)) if ((entry = await reader.find(p))) break;
            if (!entry || entry.isDir) throw new JobError(`${shown} is not in ${vol.name} although lomob's catalog says so (looked for ${lomobImagePaths(c)[0]})`, 'corrupt');
            const r = reader;
            const final = await placeFile(opts.to, c.libraryPath, { sha256: c.sha256, size: c.size, mtimeMs: c.mtimeMs }, (write) => r.read(entry!, write));
            result.restored.push({ path: shown, size: c.size, to: final.toString() });
            say({ job: JOB, item: shown, message: `restored ${shown} -> ${final.toString()}` });
          } catch (e) {
            fail(c, e);
          }
        }
      } catch (e) {
        for (const c of files) if (!result.restored.some((r) => r.path === c.libraryPath.toString()) && !result.failed.some((f) => f.path === c.libraryPath.toString())) fail(c, e);
      } finally {
        await reader?.close();
        if (tmpDir) fs.rmSync(tmpDir, { recursive: true, force: true });
      }
    }
  } finally {
    cleanup();
  }
  return result;
}
