import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'vitest';
import { cli as run, type CliResult as RunResult } from '../support/cli.js';
import { seeded } from '../support/random.js';

const random = seeded('objects/site.ts');

export const PASS = 'correct horse battery staple';

/** A scanned, initialized site with one encrypted volume: the real CLI end to end. */
export interface Site {
  dir: string;
  lib: string;
  db: string;
  objects: string;
  cli: (...args: string[]) => Promise<RunResult>;
  volume: string;
  volumeObject: string;
}

export async function makeSite(dir: string, files: Record<string, number | Buffer>): Promise<Site> {
  const lib = path.join(dir, 'lib');
  for (const [rel, content] of Object.entries(files)) {
    const f = path.join(lib, rel);
    fs.mkdirSync(path.dirname(f), { recursive: true });
    fs.writeFileSync(f, typeof content === 'number' ? random.bytes(content) : content);
  }
  const db = path.join(dir, 'lomob.db');
  const cli = (...args: string[]) => run(['--db', db, ...args], { cwd: dir, env: { LOMOB_MASTER_KEY: PASS } });
  const steps = [['scan', lib], ['init'], ['iso', 'create', '--partial', '-s', '5G', '--json']];
  let last: RunResult | null = null;
  for (const s of steps) {
    last = await cli(...s);
    expect(last.code, `${s.join(' ')}: ${last.stderr}`).toBe(0);
  }
  const made = JSON.parse(last!.stdout).volumes[0];
  return { dir, lib, db, objects: path.join(dir, 'objects'), cli, volume: made.name, volumeObject: path.basename(made.file) };
}

export function chunkFiles(objectDir: string): string[] {
  return fs.readdirSync(objectDir).filter((n) => /^\d{5}$/.test(n)).sort().map((n) => path.join(objectDir, n));
}

export { filesUnder } from '../support/files.js';
