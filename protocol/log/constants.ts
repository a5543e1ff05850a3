import { MAX_ENTRY_BYTES } from '../../storage/sitelog/entry.js';
import type { ServiceSpec } from '../service.js';

/**
 * /lomo/log/1.0.0: family members exchange every site log they hold (docs/replication.md).
 * Limits are checked on the wire before anything is buffered or stored.
 */
export const PROTOCOL_NAME = 'log';
export const PROTOCOL_VERSION = '1.0.0';
export const LOG_PROTOCOL = `/lomo/${PROTOCOL_NAME}/${PROTOCOL_VERSION}`;

/** Logs a heads message may list (a family of households: far fewer). */
export const MAX_HEADS = 4096;
/** Largest control message (a heads message of MAX_HEADS logs is about 450 KiB of JSON). */
export const MAX_CONTROL_FRAME = 512 * 1024;
/** Largest binary frame payload: whole entries back to back; one entry of the maximum size fits. */
export const MAX_FRAME_PAYLOAD = MAX_ENTRY_BYTES;
/** A sender fills a frame up to this (a larger entry travels alone). */
export const FRAME_TARGET_BYTES = 256 * 1024;
/** A sender stops after this many entries per stream and says `more`; the opener runs another round. */
export const MAX_ENTRIES_PER_STREAM = 200_000;
/** Rounds of one sync (each up to MAX_ENTRIES_PER_STREAM per direction). */
export const MAX_ROUNDS = 64;
/** The receiver checks and stores entries in batches of at most this many (one transaction each)... */
export const ACCEPT_BATCH_ENTRIES = 500;
/** ...or this many bytes. */
export const ACCEPT_BATCH_BYTES = 8 * 1024 * 1024;
/**
 * Batches the receiver lets the signature thread check ahead of the one it stores (log.ts): the
 * thread has work queued while a batch is written, and a batch waits as raw bytes (~180 KB).
 */
export const VERIFY_AHEAD_BATCHES = 4;
/** Rows read from the catalog at a time by the sender. */
export const READ_PAGE_ENTRIES = 500;
/** A peer must deliver the next frame within this. */
export const READ_TIMEOUT_MS = 30_000;
/** One stream (one round) may last at most this. */
export const MAX_STREAM_MS = 10 * 60_000;
/** The same refusal from the same peer is logged at most once per this (a loop of bad syncs stays quiet). */
export const WARN_INTERVAL_MS = 10 * 60_000;
/** Even with no change on either side, members re-exchange heads this often (acks stay fresh). */
export const RESYNC_MS = 10 * 60_000;
/** After a failed exchange with a peer, wait this long before the next automatic one. */
export const RETRY_MS = 30_000;

export const LOG_SPEC: ServiceSpec = {
  protocol: LOG_PROTOCOL,
  access: 'family',
  maxInboundStreams: 4,
  maxOutboundStreams: 4,
  label: 'log sync',
  noun: 'log sync',
};
