/**
 * Helpers of the replication tests: a site that scans, inits and packs a small volume with the
 * real CLI, and read-only looks into a running site's catalog (its node keeps running).
 */
import Database from 'better-sqlite3';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'vitest';
import { cli, type CliResult } from '../support/cli.js';
import type { NodeProc } from '../support/nodes.js';
import type { Random } from '../support/random.js';

const PASS = 'the family passphrase';
export const env = { LOMOB_MASTER_KEY: PASS, AWS_ACCESS_KEY_ID: '', AWS_SECRET_ACCESS_KEY: '', AWS_ENDPOINT_URL: '', LOMO_GDRIVE_ROOT_URL: '' };

export function run(n: NodeProc, args: string[]): Promise<CliResult> {
  return cli(['--db', n.db, ...args], { env, cwd: n.dir, timeoutMs: 120_000 });
}

export async function ok(n: NodeProc, ...args: string[]): Promise<CliResult> {
  const r = await run(n, args);
  expect(r.code, `${n.name}: ${args.join(' ')}: ${r.stderr}`).toBe(0);
  return r;
}

/** Scans a library of `sizes` random files, inits the site (objects in its data folder) and packs one volume. */
export async function packVolume(n: NodeProc, random: Random, sizes: number[]): Promise<void> {
  const lib = path.join(n.dir, 'library');
  fs.mkdirSync(lib, { recursive: true });
  sizes.forEach((size, i) => fs.writeFileSync(path.join(lib, `f${i}.jpg`), random.bytes(size)));
  await ok(n, 'scan', lib);
  if (!fs.existsSync(path.join(n.dir, 'objects'))) await ok(n, 'init', '--kdf-passes', '1', '--objects-dir', path.join(n.dir, 'objects'));
  fs.mkdirSync(path.join(n.dir, 'isos'), { recursive: true });
  await ok(n, 'iso', 'create', '--partial', '-p', path.join(n.dir, 'isos'));
}

function readOnly<T>(n: NodeProc, fn: (db: Database.Database) => T): T {
  const db = new Database(n.db, { readonly: true, fileMustExist: true });
  try {
    db.pragma('busy_timeout = 5000');
    return fn(db);
  } finally {
    db.close();
  }
}

/** Per object of `owner` known in n's catalog (kind, chunk count): the households with a live whole-object peer copy. */
export function peerCopies(n: NodeProc, owner: string): { objectId: string; kind: string; chunks: number; holders: string[] }[] {
  return readOnly(n, (db) =>
    (
      db
        .prepare(
          `SELECT hex(o.object_id) AS objectId, o.kind, o.chunk_count AS chunks,
                  (SELECT group_concat(p.peer_site, ' ') FROM placements p
                    WHERE p.object_row = o.id AND p.peer_site IS NOT NULL AND p.chunk_idx IS NULL AND p.deleted_at IS NULL) AS holders
             FROM objects o WHERE o.owner_site = ? ORDER BY o.id`,
        )
        .all(owner) as { objectId: string; kind: string; chunks: number; holders: string | null }[]
    ).map((r) => ({ ...r, holders: r.holders ? r.holders.split(' ').sort() : [] })),
  );
}

/** The chunks n keeps for `owner` (hex SHA-256s, sorted). */
export function hostedChunks(n: NodeProc, owner: string): string[] {
  return readOnly(n, (db) => (db.prepare('SELECT lower(hex(sha256)) FROM hosted_chunks WHERE owner_site = ? ORDER BY 1').pluck().all(owner) as string[]));
}

/** The SHA-256s of every chunk of `owner`'s objects (of one kind) in n's catalog. */
export function chunkHashes(n: NodeProc, owner: string, kind?: string): string[] {
  return readOnly(n, (db) =>
    db
      .prepare('SELECT lower(hex(c.sha256)) FROM chunks c JOIN objects o ON o.id = c.object_row WHERE o.owner_site = ? AND (? IS NULL OR o.kind = ?) ORDER BY 1')
      .pluck()
      .all(owner, kind ?? null, kind ?? null) as string[],
  );
}

/** Every chunk file a holder keeps for `owner` matches its name (hash) and its row; no put is half done. */
export function expectWholeChunks(holder: NodeProc, owner: string): void {
  const dir = path.join(holder.dir, 'hosted', owner);
  const files = fs.existsSync(dir) ? fs.readdirSync(dir, { recursive: true, withFileTypes: true }).filter((f) => f.isFile()) : [];
  for (const f of files) {
    const sha = createHash('sha256').update(fs.readFileSync(path.join(f.parentPath, f.name))).digest('hex');
    expect(sha, `${holder.name} keeps ${f.name}`).toBe(f.name);
  }
  expect(files.map((f) => f.name).sort()).toEqual(hostedChunks(holder, owner));
}

/** Sizes of `owner`'s chunks by hash, from n's catalog. */
export function chunkSizes(n: NodeProc, owner: string): Map<string, number> {
  const db = new Database(n.db, { readonly: true, fileMustExist: true });
  try {
    const rows = db.prepare('SELECT lower(hex(c.sha256)) AS sha, c.size FROM chunks c JOIN objects o ON o.id = c.object_row WHERE o.owner_site = ?').all(owner) as { sha: string; size: number }[];
    return new Map(rows.map((r) => [r.sha, r.size]));
  } finally {
    db.close();
  }
}
