import { createRequire } from 'node:module';

/**
 * The project's own native addons (storage/crypto/*-native) are optional dependencies: `npm ci`
 * builds them where it can, and every caller has a portable path without them. This finds one.
 */
const require = createRequire(import.meta.url);

/**
 * The module path of addon `name` when it is installed, loads, and says this machine can run it
 * (its `supported()`); null otherwise, or when `disabled` (an environment switch the tests use).
 * Worker threads load it again from this path.
 */
export function addonPath(name: string, disabled = false): string | null {
  if (disabled) return null;
  try {
    const path = require.resolve(name);
    return (require(path) as { supported(): boolean }).supported() ? path : null;
  } catch {
    return null;
  }
}

/** The addon itself (see addonPath), or null. */
export function loadAddon<T>(name: string, disabled = false): T | null {
  const path = addonPath(name, disabled);
  return path ? (require(path) as T) : null;
}
