import type { ServiceSpec } from '../service.js';

/**
 * /lomo/chunk/1.0.0: a household's encrypted chunks kept at other family members (issue 15,
 * point 2). One request per stream: has, put or get. Byte level: docs/replication.md, "Chunk
 * protocol"; the store behind it: docs/peer-store.md.
 */
export const PROTOCOL_NAME = 'chunk';
export const PROTOCOL_VERSION = '1.0.0';
export const CHUNK_PROTOCOL = `/lomo/${PROTOCOL_NAME}/${PROTOCOL_VERSION}`;

/** Largest chunk a holder accepts (a put announcing more is refused as `invalid`). */
export const MAX_CHUNK_BYTES = 64 * 1024 * 1024;
/** Payload of each binary frame a sender writes (put) or a holder writes (get). */
export const FRAME_BYTES = 256 * 1024;
/** Largest binary payload either side accepts, checked on the frame header before buffering. */
export const MAX_FRAME_BYTES = 1024 * 1024;
/**
 * Most bytes a chunk stream may hold while it is paused (see chunk.ts, nextFrame): what the peer
 * may send beyond what was read is its yamux receive window, 2 MiB in the node (node/host/host.ts)
 * and at most 16 MiB with yamux's defaults; one frame more is on its way.
 */
export const MAX_PAUSED_BYTES = 16 * 1024 * 1024 + MAX_FRAME_BYTES + 64 * 1024; // as framing.ts PAUSED_BYTES, with this protocol's frame
/** Largest control message (requests and replies are a few hundred bytes). */
export const MAX_CONTROL_BYTES = 4 * 1024;
/** Longest peer id text accepted in `owner` (an Ed25519 peer id is 52 characters). */
export const MAX_OWNER_CHARS = 128;

/** Time a peer gets for each next frame (request, reply, or the next piece of a chunk). */
export const FRAME_TIMEOUT_MS = 30_000;
/**
 * Time the sender of a put waits for the acknowledgement after its last byte: the holder hashes,
 * fsyncs and renames first (a 64 MiB chunk on a slow disk takes seconds).
 */
export const ACK_TIMEOUT_MS = 120_000;
/** Longest a whole transfer may take on the holder's side (64 MiB at ~1 Mbit/s is ~9 min). */
export const MAX_TRANSFER_MS = 15 * 60_000;

/** Concurrent chunk streams per connection, each way (bounded concurrency per peer). */
export const MAX_INBOUND_STREAMS = 4;
export const MAX_OUTBOUND_STREAMS = 4;
/** Concurrent puts and gets a holder serves over all peers; more are answered `busy`. */
export const MAX_TRANSFERS_TOTAL = 8;

export const CHUNK_SPEC: ServiceSpec = {
  protocol: CHUNK_PROTOCOL,
  access: 'family',
  maxInboundStreams: MAX_INBOUND_STREAMS,
  maxOutboundStreams: MAX_OUTBOUND_STREAMS,
  label: 'chunk stream',
  noun: 'chunk request',
};
