import type { ServiceSpec } from '../service.js';

/**
 * /lomo/speedtest/2.0.0: measures stream goodput to a family member (`lomo-peer peers
 * speedtest`, the network benchmark). Version 2 carries the filler in binary frames (1.0.0 wrote
 * raw, unframed bytes); a 1.0.0 node does not answer 2.0.0 (docs/network.md).
 */
export const PROTOCOL_NAME = 'speedtest';
export const PROTOCOL_VERSION = '2.0.0';
export const SPEEDTEST_PROTOCOL = `/lomo/${PROTOCOL_NAME}/${PROTOCOL_VERSION}`;
/** Payload of each binary frame the sender writes. */
export const PAYLOAD_BYTES = 256 * 1024;
/** Largest binary payload the receiver accepts (checked on the frame header). */
export const MAX_PAYLOAD_BYTES = 1024 * 1024;
/** A test may run at most this long on the receiving side. */
export const MAX_TEST_MS = 120_000;
/** How long the sender waits for the receiver's count after its last byte. */
export const COUNT_TIMEOUT_MS = 60_000;
/** `peers speedtest --streams` goes up to 16 parallel streams. */
export const MAX_INBOUND_STREAMS = 16;
export const MAX_OUTBOUND_STREAMS = 16;

export const SPEEDTEST_SPEC: ServiceSpec = {
  protocol: SPEEDTEST_PROTOCOL,
  access: 'family',
  maxInboundStreams: MAX_INBOUND_STREAMS,
  maxOutboundStreams: MAX_OUTBOUND_STREAMS,
  label: 'speedtest stream',
  noun: 'speedtest',
};
