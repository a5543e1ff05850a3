/**
 * The chunk service: `const chunks = chunkService(store)(components)`, then as a sender
 * `chunks.put(peer, owner, sha, size, source)`, `chunks.get(peer, owner, sha, range?)`,
 * `chunks.has(peer, owner, sha)`; as a holder it serves the same from `store`. See constants.ts,
 * chunk.ts and docs/replication.md ("Chunk protocol").
 */
import type { PeerStore } from '../../storage/peerstore/store.js';
import type { ServiceComponents } from '../service.js';
import { ChunkService, type HouseholdOf } from './chunk.js';

/**
 * `householdOf`: whose chunks a peer may reach (default: its own peer id's only); `onBulkTransfer`:
 * called before every put or get, either side.
 */
export function chunkService(store: PeerStore, householdOf?: HouseholdOf, onBulkTransfer?: () => void): (components: ServiceComponents) => ChunkService {
  return (components) => new ChunkService(store, components, householdOf, onBulkTransfer);
}

export { ChunkRefused, type ChunkRefusal, type ChunkService, type HouseholdOf } from './chunk.js';
export { CHUNK_PROTOCOL } from './constants.js';
