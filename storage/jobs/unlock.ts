import type { SiteKeys } from '../crypto/keys.js';
import type { Sodium } from '../crypto/sodium.js';

/**
 * The site's keys, asked for only when a job needs them: the CLI prompts for the passphrase then
 * (so that a run with nothing to do asks nothing); the node hands over keys it holds already.
 */
export type UnlockKeys = () => Promise<{ sodium: Sodium; keys: SiteKeys }>;
