import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const heapModule = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../node/heap.ts');

/** Runs `body` (an ES module's code, heap.ts's exports in scope) in a fresh Node process; its JSON output. */
function inFreshProcess<T>(body: string): T {
  // A fresh process: vitest's own heap is whatever its run made it.
  const script = `const { tuneHeap, youngGenerationBytes, releaseNow } = await import(${JSON.stringify(heapModule)});\n${body}`;
  const r = spawnSync(process.execPath, ['--experimental-strip-types', '--no-warnings', '--input-type=module', '-e', script], { encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as T;
}

describe('tuneHeap, releaseNow', () => {
  it('shrinks a young generation that loading grew and keeps it from growing again; exposes no gc', () => {
    // It grows the young generation first, as loading the node's modules does.
    const o = inFreshProcess<{ grown: number; shrunk: number; after: number; gc: string; gcInNewContext: string }>(`
      let keep = [];
      for (let i = 0; i < 3e6; i++) { keep.push({ i }); if (keep.length > 3e5) keep = []; }
      const grown = youngGenerationBytes();
      tuneHeap();
      const shrunk = youngGenerationBytes();
      for (let i = 0; i < 3e6; i++) { keep.push({ i }); if (keep.length > 3e5) keep = []; }
      const after = youngGenerationBytes();
      tuneHeap(); // again: nothing (no second shrink)
      const vm = await import('node:vm');
      console.log(JSON.stringify({ grown, shrunk, after, gc: typeof globalThis.gc, gcInNewContext: vm.runInNewContext('typeof gc') }));
    `);
    expect(o.grown).toBeGreaterThanOrEqual(8 * 1024 * 1024);
    expect(o.shrunk).toBeLessThanOrEqual(4 * 1024 * 1024);
    // V8 may still add a few pages (2-5.3 MiB seen), never double its way back up.
    expect(o.after).toBeLessThanOrEqual(8 * 1024 * 1024);
    expect(o.after).toBeLessThan(o.grown);
    expect(o.gc).toBe('undefined');
    expect(o.gcInNewContext).toBe('undefined');
  });

  it('once tuned, short-lived buffers churned at transfer rates cost no full collections', () => {
    // 1 GiB of 64 KiB buffers (a transfer's socket reads and Noise messages), 4 MiB of them live
    // at a time; full (mark-compact) collections counted before and after tuning. V8's default
    // started one per 64 MiB of new buffers (docs in node/heap.ts).
    const o = inFreshProcess<{ before: number; after: number }>(`
      const { PerformanceObserver, constants } = await import('node:perf_hooks');
      // Counted by start time: the observer's entries arrive later, some after the phase ended.
      const majorsAt = [];
      new PerformanceObserver((l) => { for (const e of l.getEntries()) if (e.detail.kind === constants.NODE_PERFORMANCE_GC_MAJOR) majorsAt.push(e.startTime); }).observe({ entryTypes: ['gc'] });
      const tick = () => new Promise((r) => setImmediate(r));
      const settle = () => new Promise((r) => setTimeout(r, 50));
      async function churn() {
        await settle();
        const t0 = performance.now();
        const live = [];
        for (let i = 0; i < 16384; i++) {
          live.push(Buffer.allocUnsafe(65536));
          if (live.length > 64) live.shift();
          if (i % 64 === 0) await tick();
        }
        const t1 = performance.now();
        await settle();
        return majorsAt.filter((t) => t >= t0 && t <= t1).length;
      }
      const before = await churn();
      tuneHeap();
      const after = await churn();
      console.log(JSON.stringify({ before, after }));
    `);
    // Seen here: 8-14 before, 0 after.
    expect(o.after).toBeLessThanOrEqual(1);
    expect(o.before, 'without the tuning V8 runs full collections for the same churn').toBeGreaterThanOrEqual(4);
  });

  it('releaseNow frees a whole buffer at once and leaves slices of a shared ArrayBuffer alone', () => {
    const o = inFreshProcess<{ before: number; after: number; length: number; slice: string; pooled: string }>(`
      const big = Buffer.allocUnsafe(8 * 1024 * 1024).fill(1);
      const before = process.memoryUsage().arrayBuffers;
      releaseNow(big);
      const after = process.memoryUsage().arrayBuffers;
      // A view into part of an ArrayBuffer, and a small buffer from Node's pool: neither is detached.
      const whole = Buffer.from('0123456789abcdef');
      const slice = whole.subarray(4, 8);
      releaseNow(slice);
      const pooled = Buffer.from('pooled');
      releaseNow(pooled);
      console.log(JSON.stringify({ before, after, length: big.length, slice: whole.toString(), pooled: pooled.toString() }));
    `);
    expect(o.before - o.after).toBeGreaterThanOrEqual(8 * 1024 * 1024);
    expect(o.length).toBe(0);
    expect(o.slice).toBe('0123456789abcdef');
    expect(o.pooled).toBe('pooled');
  });
});
