import v8 from 'node:v8';
import vm from 'node:vm';

/**
 * Keeps V8's young generation from growing in a process that runs long and busy: the node, and
 * `recover`; when bulk transfers start (chunks, speedtest) shrinks it once and makes V8 count
 * buffers against its heap limit (tuneHeapForBulkTransfers).
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
 * this runs. For chunk transfers the young generation is shrunk back once (a memory-reducing full collection,
 * V8's "last resort" one, which takes a few ms on a fresh process). That matters for chunk
 * transfers: every noise message and chunk frame is a fresh buffer outside the heap, freed only
 * when the small JS objects that point to it are collected; with 16 MiB semi-spaces a sender
 * replicating to two holders held ~60 MB of such dead buffers between scavenges (sender peak
 * 214-221 MB replicating 512 MB, 164-170 MB shrunk). It costs CPU: more scavenges and earlier
 * promotion; in the same benchmark holders spent ~9 ms per MB received instead of 5-7.5. And
 * it costs a bulk log sync memory: a node receiving 100,000 site-log entries peaked at 205-215 MB
 * shrunk against 199 MB at 16 MiB (more of its short-lived entries promoted). So the shrink waits
 * for the first chunk transfer (the chunk service's onBulkTransfer): a process that only syncs
 * logs (a fresh `join` or `recover`, when the big syncs happen) keeps the young generation it
 * loaded with; a node that has replicated keeps it small from then on.
 *
 * Bulk transfers also change when V8 runs a full collection. By default it starts one whenever the
 * memory outside its heap (Node's buffers) has grown by 64 MiB since the last one, whether or not
 * that memory is still in use, and a transfer allocates buffers at several times the link's rate
 * (socket reads, Noise messages, frames): a holder receiving at 2.4 Gbit/s ran a full collection
 * every 2-6 MB it received (12-22 per second), and the collector's threads took 3-4 ms of CPU per
 * MB, more than everything else the holder did (docs/replication.md §9, "Performance").
 * `--external-memory-accounted-in-global-limit` counts those buffers in V8's one global limit
 * instead, which grows with what is live, so the young collections that free short-lived buffers
 * get to do it; `--heap-growing-percent=100` caps that limit at twice what is live (V8 would allow
 * up to 4x, and a sender replicating a 5 GB volume then peaked at 210 MB RSS; 180 MB at 2x, 172 at
 * 1.75x with a third more CPU). Both flags are read by V8 at every collection, so setting them now works.
 */
export function keepYoungGenerationSmall(): void {
  v8.setFlagsFromString('--semi-space-growth-factor=1');
}

let tuned = false;

/**
 * For bulk transfers, the first time only (the chunk and speedtest services call it): shrinks the
 * young generation to its minimum and counts buffers in V8's global limit, at most 2x what is live.
 */
export function tuneHeapForBulkTransfers(): void {
  if (tuned) return;
  tuned = true;
  // Flags first: the shrink's full collection then sets the next limits the new way.
  v8.setFlagsFromString('--external-memory-accounted-in-global-limit');
  v8.setFlagsFromString('--heap-growing-percent=100');
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

/**
 * Frees the memory of a large buffer now, not at the next full collection: a whole chunk fetched
 * from another holder dies in the old generation (it lives through the put's young collections),
 * and with the bulk-transfer tuning above V8 lets such garbage reach twice what is live (a sender
 * copying a volume chunk by chunk that way peaked at 380-395 MB, 264 MB of it dead chunks).
 * Detaching the buffer's ArrayBuffer (`transfer(0)`) drops its memory at once. Only for a buffer
 * that owns its whole ArrayBuffer (not a slice of Node's pool) and that nothing reads any more;
 * anything else is left to the collector.
 */
export function releaseNow(buf: Buffer): void {
  const ab = buf.buffer as ArrayBuffer & { transfer?: (n: number) => ArrayBuffer; readonly detached?: boolean };
  if (buf.byteOffset !== 0 || buf.byteLength !== ab.byteLength || typeof ab.transfer !== 'function' || ab.detached) return;
  ab.transfer(0);
}
