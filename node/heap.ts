import v8 from 'node:v8';
import vm from 'node:vm';

/**
 * How the node's V8 heap is run (tuneHeap): `lomo-peer node` and `recover` call it at start, and
 * the chunk and speedtest services before their first transfer (for a process that runs a node
 * in-process, as restore from peers does). Three settings, each measured (docs/replication.md §7
 * and §9 "Performance"):
 *
 * 1. **The young generation does not grow** (`--semi-space-growth-factor=1`). V8 doubles it
 *    whenever the bytes that survived its collections since the last doubling exceed its size, so
 *    in any steady busy run it ends at Node's maximum of 2 x 64 MiB: a log sync of 100,000 entries
 *    got there within 6 s and the receiving node peaked at 330-390 MB RSS, nearly all garbage.
 * 2. **It is shrunk once to its minimum** (a memory-reducing full collection, a few ms on a fresh
 *    process): loading the node's modules alone grows it from 1 MiB to 16-32 MiB. Every Noise
 *    message and chunk frame is a buffer outside the heap, freed only when the small JS object that
 *    points to it is collected; with 16 MiB semi-spaces a sender replicating to two holders held
 *    ~60 MB of dead buffers between young collections.
 * 3. **Buffers count in V8's global limit, at most twice what is live**
 *    (`--external-memory-accounted-in-global-limit`, `--heap-growing-percent=100`). By default V8
 *    starts a full collection whenever memory outside its heap has grown by 64 MiB since the last
 *    one, live or not, and a transfer allocates buffers at several times the link's rate: a holder
 *    receiving at 2.4 Gbit/s ran a full collection every 2-6 MB it received and the collector's
 *    threads took 3-4 ms of CPU per MB, more than everything else it did. Counted in the global
 *    limit, which grows with what is live, the buffers are freed by young collections instead
 *    (0-3 full collections per GiB). The cap: V8 would allow up to 4x, and a sender replicating a
 *    5 GB volume peaked at 210 MB RSS; 180 MB at 2x, 172 MB at 1.75x with a third more CPU.
 *
 * Together, measured with the benches of issue 14 (2 without 3 had cost a bulk log sync memory,
 * 205-215 MB, so the shrink used to wait for the first chunk transfer): a log sync of 100,000
 * entries peaks at 177-181 MB at the receiver and 115-117 MB at the sender, against 196-201 and
 * 178-182 MB with setting 1 alone, in the same time; `recover` of a 100,000-file catalog at
 * 153 MB against 171. All are flags V8 reads as it runs, and Node keeps them writable for
 * v8.setFlagsFromString (--max-semi-space-size, by contrast, is fixed at start).
 */
let tuned = false;

/** Applies the three settings above, the first time only. */
export function tuneHeap(): void {
  if (tuned) return;
  tuned = true;
  v8.setFlagsFromString('--semi-space-growth-factor=1');
  // Before the shrink's full collection, which then sets the next limits the new way.
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
 * and with tuneHeap's setting 3 V8 lets such garbage reach twice what is live (a sender
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
