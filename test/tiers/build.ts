/**
 * CLI tests run the built JS (node bin/lomo-peer.js). Build once: skip tsc when dist/ is newer
 * than every source file under node/, storage/, protocol/ (tsc emits even when someone else's
 * half-written file has a type error, so its exit status is not ours to judge here).
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

export const ROOT = path.resolve(__dirname, '../..');

function newest(dir: string): number {
  let m = 0;
  if (!fs.existsSync(dir)) return 0;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) m = Math.max(m, newest(p));
    else if (e.name.endsWith('.ts')) m = Math.max(m, fs.statSync(p).mtimeMs);
  }
  return m;
}

export function ensureBuilt(): void {
  const marker = path.join(ROOT, 'dist/node/cli.js');
  const src = Math.max(...['node', 'storage', 'protocol', 'deploy'].map((d) => newest(path.join(ROOT, d))));
  if (fs.existsSync(marker) && fs.statSync(marker).mtimeMs > src) return;
  spawnSync('npx', ['tsc', '-p', 'tsconfig.json'], { cwd: ROOT, stdio: 'ignore' });
}
