/**
 * The log sync service: `const logs = logService(env)(components)`; `logs.sync(peer)` exchanges
 * every site log with a family member now, `logs.syncIfDue(peer)` only when something changed.
 * See constants.ts, messages.ts, log.ts and docs/replication.md.
 */
import type { ServiceComponents } from '../service.js';
import { LogSync, type LogEnv } from './log.js';

export function logService(env: LogEnv): (components: ServiceComponents) => LogSync {
  return (components) => new LogSync(env, components);
}

export { LogRefused, type LogEnv, type LogSync, type SyncResult } from './log.js';
export { LOG_PROTOCOL } from './constants.js';
