import { createHash } from 'node:crypto';
import { LEAF_SIZE } from './format.js';

/**
 * Merkle root over a chunk's ciphertext in fixed 64 KiB leaves (the last may be shorter), so a
 * verifier that keeps only the root can later ask a peer for one leaf plus its path.
 *
 *   leaf_i = SHA-256(0x00 || bytes of leaf i)
 *   node   = SHA-256(0x01 || left || right)
 *
 * Levels are built pairwise left to right; an odd last node is carried up unchanged. The 0x00/0x01
 * prefixes keep a leaf from being passed off as an inner node (second-preimage defence, RFC 6962).
 */
export function merkleRoot(data: Uint8Array, leafSize = LEAF_SIZE): Buffer {
  const leaves: Buffer[] = [];
  for (let off = 0; off < data.length || leaves.length === 0; off += leafSize) {
    leaves.push(leafHash(data.subarray(off, Math.min(off + leafSize, data.length))));
    if (data.length === 0) break;
  }
  return rootOf(leaves);
}

export function leafHash(leaf: Uint8Array): Buffer {
  return createHash('sha256').update(Buffer.of(0)).update(leaf).digest();
}

export function rootOf(leaves: Buffer[]): Buffer {
  let level = leaves;
  while (level.length > 1) {
    const next: Buffer[] = [];
    for (let i = 0; i < level.length; i += 2) {
      next.push(i + 1 < level.length ? createHash('sha256').update(Buffer.of(1)).update(level[i]!).update(level[i + 1]!).digest() : level[i]!);
    }
    level = next;
  }
  return level[0]!;
}
