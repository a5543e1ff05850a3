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
/**
 * Longest a relay admits unknown joiners for another member's announced invite, from the roster
 * that announced it (the claim itself may say anything: see invite-window.ts).
 */
export const MAX_RELAY_WINDOW_MS = 15 * 60_000;
/** How often an inviter re-announces an open invite, so that relay windows stay open. */
export const INVITE_REANNOUNCE_MS = 5 * 60_000;
/** Longest announced invite a site remembers as witnessed (the longest invite: 7 days). */
export const MAX_WITNESS_WINDOW_MS = 7 * 24 * 3_600_000;
/** After an announced invite closes (it was used), its introductions still count as witnessed this long. */
export const WITNESS_GRACE_MS = 2 * 60_000;
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
