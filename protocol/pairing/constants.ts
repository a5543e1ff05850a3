import type { ServiceSpec } from '../service.js';

/**
 * /lomo/pair/1.0.0: a joiner proves it holds an invite code, the inviter proves it issued it
 * (docs/pairing.md describes every message, field and limit).
 */
export const PROTOCOL_NAME = 'pair';
export const PROTOCOL_VERSION = '1.0.0';
export const PAIR_PROTOCOL = `/lomo/${PROTOCOL_NAME}/${PROTOCOL_VERSION}`;
/** Each step of a pairing must arrive within this time. */
export const PAIR_STEP_TIMEOUT_MS = 15_000;
/** Longest an invite may stay open (`invite --expires`): 7 days. */
export const MAX_INVITE_MS = 7 * 24 * 3_600_000;
/** Largest pairing message (JSON control frame). */
export const MAX_PAIR_FRAME = 64 * 1024;
/** Field limits (characters of a string, items of a list). */
export const MAX_NAME = 100;
export const MAX_ADDRS = 16;
export const MAX_ADDR_LEN = 300;
export const MAX_MEMBERS = 200;
export const MAX_PEER_ID = 100;
export const MAX_ERROR_MESSAGE = 500;
/** A pairing is one stream; a few at once tolerate a retrying joiner. */
export const MAX_INBOUND_STREAMS = 4;
export const MAX_OUTBOUND_STREAMS = 4;

export const PAIR_SPEC: ServiceSpec = {
  protocol: PAIR_PROTOCOL,
  // The joiner is unknown until it proves the secret: the gater admitted it on probation because
  // an invite is open (node/host/admission.ts); the invite check itself is the exchange's.
  access: 'probation',
  maxInboundStreams: MAX_INBOUND_STREAMS,
  maxOutboundStreams: MAX_OUTBOUND_STREAMS,
  label: 'pairing stream',
  noun: 'pairing',
};
