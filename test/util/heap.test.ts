import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const heapModule = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../node/heap.ts');

describe('keepYoungGenerationSmall, shrinkYoungGenerationOnce', () => {
  it('keeps the young generation from growing; the shrink makes small a young generation that loading grew, exposes no gc', () => {
    // A fresh process (vitest's own young generation is whatever its run made it): it grows the
    // young generation first, as loading the node's modules does.
    const script = `
      const { keepYoungGenerationSmall, shrinkYoungGenerationOnce, youngGenerationBytes } = await import(${JSON.stringify(heapModule)});
      let keep = [];
      for (let i = 0; i < 3e6; i++) { keep.push({ i }); if (keep.length > 3e5) keep = []; }
      const grown = youngGenerationBytes();
      keepYoungGenerationSmall();
      for (let i = 0; i < 3e6; i++) { keep.push({ i }); if (keep.length > 3e5) keep = []; }
      const kept = youngGenerationBytes();
      shrinkYoungGenerationOnce();
      const shrunk = youngGenerationBytes();
      for (let i = 0; i < 3e6; i++) { keep.push({ i }); if (keep.length > 3e5) keep = []; }
      const after = youngGenerationBytes();
      const vm = await import('node:vm');
      console.log(JSON.stringify({ grown, kept, shrunk, after, gc: typeof globalThis.gc, gcInNewContext: vm.runInNewContext('typeof gc') }));
    `;
    const r = spawnSync(process.execPath, ['--experimental-strip-types', '--no-warnings', '--input-type=module', '-e', script], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const o = JSON.parse(r.stdout) as { grown: number; kept: number; shrunk: number; after: number; gc: string; gcInNewContext: string };
    expect(o.grown).toBeGreaterThanOrEqual(8 * 1024 * 1024);
    expect(o.kept, 'no growth once kept small').toBeLessThanOrEqual(o.grown);
    expect(o.shrunk).toBeLessThanOrEqual(4 * 1024 * 1024);
    expect(o.after).toBeLessThanOrEqual(4 * 1024 * 1024);
    expect(o.gc).toBe('undefined');
    expect(o.gcInNewContext).toBe('undefined');
  });
});
