/**
 * The speedtest service: `const speedtest = speedtestService()(components)`, then
 * `speedtest.run(peerId, {durationMs, streams})`. See constants.ts and speedtest.ts.
 */
import type { ServiceComponents } from '../service.js';
import { Speedtest } from './speedtest.js';

export function speedtestService(): (components: ServiceComponents) => Speedtest {
  return (components) => new Speedtest(components);
}

export type { Speedtest, SpeedtestResult } from './speedtest.js';
export { SPEEDTEST_PROTOCOL } from './constants.js';
