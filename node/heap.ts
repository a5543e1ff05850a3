import v8 from 'node:v8';
import vm from 'node:vm';

/**
 * Keeps V8's young generation small in a process that runs long and busy: the node, and
 * `recover`.
 *
 * V8 doubles the young generation whenever the bytes that survived its collections since the last
 * doubling exceed its size, so in any steady busy run it ends at the maximum, which Node (64-bit,
 * no pointer compression) sets to 2 x 64 MiB. A log sync of 100,000 entries got there within 6 s,
 * and the receiving node then peaked at 330-390 MB RSS, all but ~20 MB of its heap garbage.
 * With no growth it peaked at ~200 MB for the same CPU time (docs/replication.md §7). Only the
 * growth factor can still be changed once V8 runs (--max-semi-space-size cannot), and Node keeps
 * its flags writable for v8.setFlagsFromString.
 *
 * Loading the node's modules alone grows the semi-spaces from V8's 1 MiB to 16-32 MiB before
 * this runs, so the young generation is also shrunk back once (a memory-reducing full collection,
 * V8's "last resort" one, which takes a few ms on a fresh process). That matters for chunk
 * transfers: every noise message and chunk frame is a fresh buffer outside the heap, freed only
 * when the small JS objects that point to it are collected; with 16 MiB semi-spaces a sender
 * replicating to two holders held ~60 MB of such dead buffers between scavenges (sender peak
 * 214-221 MB replicating 512 MB, 164-170 MB shrunk). It costs CPU: more scavenges and earlier
 * promotion; in the same benchmark holders spent ~9 ms per MB received instead of 5-7.5.
 */
export function keepYoungGenerationSmall(): void {
  v8.setFlagsFromString('--semi-space-growth-factor=1');
  shrinkYoungGeneration();
}

/** Young generation size now (both semi-spaces), in bytes. */
export function youngGenerationBytes(): number {
  return v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')?.space_size ?? 0;
}

/**
 * A memory-reducing full collection, which shrinks the young generation to its minimum. `gc` is
 * exposed only for this call (a context made while --expose-gc is set gets it; the flag is then
 * cleared again, so no later context sees a gc function).
 */
function shrinkYoungGeneration(): void {
  v8.setFlagsFromString('--expose-gc');
  try {
    const gc = vm.runInNewContext('gc') as (o: { type: string; execution: string; flavor: string }) => void;
    gc({ type: 'major', execution: 'sync', flavor: 'last-resort' });
  } finally {
    v8.setFlagsFromString('--no-expose-gc');
  }
}
