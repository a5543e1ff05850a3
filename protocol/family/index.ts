/**
 * The family (roster) service: `const family = familyService(env)(components)`; `family.sync(peer)`
 * exchanges rosters with a trusted peer, `family.roster()` is what this site announces.
 */
import type { ServiceComponents } from '../service.js';
import { Family, type FamilyEnv } from './family.js';

export function familyService(env: FamilyEnv): (components: ServiceComponents) => Family {
  return (components) => new Family(env, components);
}

export type { Family, FamilyEnv } from './family.js';
export type { MergeResult, Roster } from './roster.js';
export { relayWindowUntil } from './invite-window.js';
export { INVITE_REANNOUNCE_MS, MAX_RELAY_WINDOW_MS } from './constants.js';
export { ROSTER_PROTOCOL } from './constants.js';
