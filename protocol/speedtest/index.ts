/**
 * The speedtest service: `const speedtest = speedtestService()(components)`, then
 * `speedtest.run(peerId, {durationMs, streams})`. See constants.ts and speedtest.ts.
 */
import type { ServiceComponents } from '../service.js';
import { Speedtest } from './speedtest.js';

/** `onBulkTransfer`: called before every test, either side (the node tunes V8's heap once: node/heap.ts). */
export function speedtestService(onBulkTransfer?: () => void): (components: ServiceComponents) => Speedtest {
  return (components) => new Speedtest(components, onBulkTransfer);
}

export type { Speedtest, SpeedtestResult } from './speedtest.js';
export { SPEEDTEST_PROTOCOL } from './constants.js';
