import type { Migration } from '../migrations.js';

/**
 * The holder scrub (storage/peerstore/scrub.ts) takes, every maintenance round, the few hosted
 * chunks checked least recently: with this index that is a short walk instead of a scan and sort
 * of every chunk held.
 */
export const hostedCheckOrder: Migration = {
  version: 71,
  name: 'peer store: hosted chunks by the time they were last verified (the scrub order)',
  sql: `CREATE INDEX hosted_chunks_by_verified ON hosted_chunks (verified_at);`,
};
