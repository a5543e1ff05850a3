export { PeerStore, type ByteRange, type PutResult } from './store.js';
export { PeerStoreError, type PeerStoreReason } from './errors.js';
export type { OwnerUsage } from './accounts.js';
export type { ChunkSource } from './durable-write.js';
