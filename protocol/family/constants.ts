import type { ServiceSpec } from '../service.js';

/** /lomo/family/1.0.0: roster exchange between trusted sites (see roster.ts). */
export const PROTOCOL_NAME = 'family';
export const PROTOCOL_VERSION = '1.0.0';
export const ROSTER_PROTOCOL = `/lomo/${PROTOCOL_NAME}/${PROTOCOL_VERSION}`;
/** Largest roster message (200 members with 16 addresses each fit). */
export const MAX_ROSTER_FRAME = 256 * 1024;
/** Each of the two messages must arrive within this time. */
export const STEP_TIMEOUT_MS = 10_000;
/** Addresses of one member the roster carries. */
export const MAX_MEMBER_ADDRS = 16;
export const MAX_INBOUND_STREAMS = 4;
export const MAX_OUTBOUND_STREAMS = 4;

export const ROSTER_SPEC: ServiceSpec = {
  protocol: ROSTER_PROTOCOL,
  access: 'family',
  maxInboundStreams: MAX_INBOUND_STREAMS,
  maxOutboundStreams: MAX_OUTBOUND_STREAMS,
  label: 'family roster',
  noun: 'roster',
};
