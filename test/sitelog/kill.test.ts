/**
 * This site's tables and its log never disagree (issue 14, 3): `scan` and `iso create` are killed
 * with SIGKILL at random moments after `init`; after every kill, each object row has its
 * object-sealed entry and each such entry its row, and the catalog rebuilt from the log alone
 * (rebuildCatalogFromLog) has exactly the rows of the catalog — roots, folders, file versions,
 * volumes and extents, objects, chunks, placements.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, startCli, tempDir } from '../support/cli.js';
import { seeded } from '../support/random.js';
import { openCatalog, type Db } from '../../storage/catalog/db.js';
import { loadSodium } from '../../storage/crypto/sodium.js';
import { deriveSiteKeys } from '../../storage/crypto/keys.js';
import { loadSiteKeys } from '../../storage/objects/catalog.js';
import { localLogState } from '../../storage/sitelog/local-log.js';
import { entriesOf } from '../../storage/sitelog/store.js';
import { decodeBody } from '../../storage/sitelog/body.js';
import { KIND } from '../../storage/sitelog/entry.js';
import { rebuildCatalogFromLog } from '../../storage/sitelog/rebuild.js';

const random = seeded('sitelog/kill.test.ts');
const PASS = 'kill test passphrase';
const env = { LOMOB_MASTER_KEY: PASS };

const TABLES: Record<string, string> = {
  scan_roots: 'id',
  dirs: 'id',
  files: 'id',
  volumes: 'id',
  volume_files: 'volume_id, file_id',
  objects: 'id',
  chunks: 'object_row, idx',
  placements: 'id',
};
const rows = (db: Db, t: string) => db.prepare(`SELECT * FROM ${t} ORDER BY ${TABLES[t]}`).all();

describe('the site log and the tables it describes, across kills', () => {
  let dir: string;
  let cleanup: () => void;
  beforeAll(() => ({ dir, cleanup } = tempDir('lomo-logkill-')));
  afterAll(() => cleanup());

  it('agree after every SIGKILL of scan and iso create', async () => {
    const { seed, next: rand } = random;
    const lib = path.join(dir, 'lib');
    const db = path.join(dir, 'lomob.db');
    const isos = path.join(dir, 'isos');
    fs.mkdirSync(isos);
    const files: string[] = [];
    for (let i = 0; i < 300; i++) {
      const f = path.join(lib, `d${i % 20}`, `f${i}.jpg`);
      fs.mkdirSync(path.dirname(f), { recursive: true });
      fs.writeFileSync(f, random.bytes(20_000 + Math.floor(rand() * 200_000)));
      files.push(f);
    }
    expect((await cli(['--db', db, 'init', '--kdf-passes', '1'], { env })).code).toBe(0);
    const sodium = await loadSodium();
    const c = openCatalog(db);
    const keys = deriveSiteKeys(sodium, PASS, loadSiteKeys(c)!.kdf);
    const origin = localLogState(c)!.origin;
    c.close();

    const check = (label: string) => {
      const conn = openCatalog(db);
      const fresh = openCatalog(path.join(dir, `rebuilt-${label}.db`));
      try {
        const entries = entriesOf(conn, origin, 1, 1_000_000);
        const sealed = entries.filter((e) => e.kind === KIND.objectSealed).map((e) => {
          const b = decodeBody(e.kind, e.body);
          return b.kind === 'objectSealed' ? b.body.objectId.toString('hex') : '';
        });
        const recorded = conn.prepare('SELECT lower(hex(object_id)) FROM objects ORDER BY id').pluck().all() as string[];
        expect(sealed, `seed ${seed} ${label}: object rows and object-sealed entries`).toEqual(recorded);
        rebuildCatalogFromLog(fresh, entries, { sodium, keys });
        for (const t of Object.keys(TABLES)) expect(rows(fresh, t), `seed ${seed} ${label}: ${t}`).toEqual(rows(conn, t));
      } finally {
        fresh.close();
        conn.close();
      }
    };

    // Kill moments are drawn from a window that shrinks to the measured length of a run that
    // finished before its kill (a fast idle machine finishes a round in well under a second), and
    // rounds go on until at least four runs were really killed.
    let kills = 0;
    const windowMs: Record<string, number> = { scan: 1500, iso: 1500 };
    for (let round = 0; round < 16 && (round < 6 || kills < 4); round++) {
      // Edits, a deletion and an addition between rounds, so each scan has work to log.
      for (let k = 0; k < 40; k++) {
        const f = files[Math.floor(rand() * files.length)]!;
        if (fs.existsSync(f)) fs.writeFileSync(f, random.bytes(20_000 + Math.floor(rand() * 200_000)));
      }
      fs.rmSync(files[Math.floor(rand() * files.length)]!, { force: true });
      const added = path.join(lib, `n${round}`, `new.jpg`);
      fs.mkdirSync(path.dirname(added), { recursive: true });
      fs.writeFileSync(added, random.bytes(80_000));
      files.push(added);

      for (const args of [['scan', lib], ['iso', 'create', '--partial', '-s', '3MB', '-p', isos]]) {
        const name = args[0]!;
        const started = Date.now();
        const child = startCli(['--db', db, ...args], { env }).child;
        let ranMs = 0;
        const exited = new Promise<void>((r) => child.on('close', () => ((ranMs = Date.now() - started), r())));
        await new Promise((r) => setTimeout(r, 50 + rand() * windowMs[name]!));
        const killed = child.exitCode === null && child.kill('SIGKILL');
        await exited;
        if (killed) kills++;
        else windowMs[name] = Math.max(300, Math.min(windowMs[name]!, ranMs * 0.8));
        check(`round ${round} ${name}`);
      }
    }
    // Finish cleanly, then the same holds with everything done.
    expect((await cli(['--db', db, 'scan', lib], { env })).code).toBe(0);
    const done = await cli(['--db', db, 'iso', 'create', '--partial', '-s', '3MB', '-p', isos], { env });
    expect([0, 4]).toContain(done.code);
    check('final');
    expect(kills, 'runs killed').toBeGreaterThanOrEqual(4);
  }, 600_000);
});
