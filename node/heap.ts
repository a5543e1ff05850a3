import v8 from 'node:v8';

/**
 * Keeps V8's young generation at its starting size (semi-spaces of 16 MiB) in a process that runs
 * long and busy: the node, and `recover`.
 *
 * V8 doubles the young generation whenever the bytes that survived its collections since the last
 * doubling exceed its size, so in any steady busy run it ends at the maximum, which Node (64-bit,
 * no pointer compression) sets to 2 x 64 MiB. A log sync of 100,000 entries got there within 6 s,
 * and the receiving node then peaked at 330-390 MB RSS, all but ~20 MB of its heap garbage.
 * With no growth it peaked at ~200 MB for the same CPU time (docs/replication.md §7). Only the
 * growth factor can still be changed once V8 runs (--max-semi-space-size cannot), and Node keeps
 * its flags writable for v8.setFlagsFromString.
 */
export function keepYoungGenerationSmall(): void {
  v8.setFlagsFromString('--semi-space-growth-factor=1');
}
