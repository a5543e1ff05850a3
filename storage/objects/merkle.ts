import { blake3, type Blake3 } from '../crypto/blake3.js';
import { LEAF_SIZE } from './format.js';

/**
 * Merkle root over a chunk's ciphertext in fixed 64 KiB leaves (the last may be shorter), so a
 * verifier that keeps only the root can later ask a peer for one leaf plus its path.
 *
 *   leaf_i = BLAKE3(bytes of leaf i)                     (hash mode)
 *   node   = BLAKE3-keyed(NODE_KEY, left || right)       (keyed_hash mode)
 *   NODE_KEY = BLAKE3("lomo-peer merkle node v1")
 *
 * Levels are built pairwise left to right; an odd last node is carried up unchanged. Leaves and
 * inner nodes use different BLAKE3 modes (the mode is a flag inside every compression), so a leaf
 * can never be passed off as an inner node (the second-preimage defence RFC 6962 gets from its
 * 0x00/0x01 prefixes). BLAKE3 and not SHA-256: the leaves are a full pass over every chunk, and
 * BLAKE3 does it 2.4x faster here (docs/crypto-format.md §8).
 */
export const NODE_KEY: Buffer = blake3.hash(Buffer.from('lomo-peer merkle node v1', 'utf8'));

export function merkleRoot(data: Uint8Array, leafSize = LEAF_SIZE, b3: Blake3 = blake3): Buffer {
  const leaves: Buffer[] = [];
  for (let off = 0; off < data.length || leaves.length === 0; off += leafSize) {
    leaves.push(b3.hash(data.subarray(off, Math.min(off + leafSize, data.length))));
    if (data.length === 0) break;
  }
  return rootOf(leaves, b3);
}

export function leafHash(leaf: Uint8Array, b3: Blake3 = blake3): Buffer {
  return b3.hash(leaf);
}

export function nodeHash(left: Uint8Array, right: Uint8Array, b3: Blake3 = blake3): Buffer {
  return b3.keyed(NODE_KEY, Buffer.concat([left, right]));
}

export function rootOf(leaves: Buffer[], b3: Blake3 = blake3): Buffer {
  let level = leaves;
  while (level.length > 1) {
    const next: Buffer[] = [];
    for (let i = 0; i < level.length; i += 2) next.push(i + 1 < level.length ? nodeHash(level[i]!, level[i + 1]!, b3) : level[i]!);
    level = next;
  }
  return level[0]!;
}
