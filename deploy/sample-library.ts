/**
 * Makes a small deterministic sample library (photo-like incompressible files in dated album
 * folders) for the main job and demos: `node dist/deploy/sample-library.js <dir>`.
 */
import path from 'node:path';
import { ensureTree } from './bench/bench-tree.js';

const dir = path.resolve(process.argv[2] ?? 'lomo-sample/library');
const r = ensureTree(dir, {
  groups: [
    { count: 40, size: 600_000 },
    { count: 2, size: 6_000_000 },
  ],
  perDir: 12,
  seed: 'lomo-sample',
});
process.stdout.write(`sample library: ${dir} (${r.files} files, ${(r.bytes / 1e6).toFixed(1)} MB)\n`);
