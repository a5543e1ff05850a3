import type { Statement } from 'better-sqlite3';
import type { Db } from '../catalog/db.js';

/**
 * Prepared statements cached per catalog connection. better-sqlite3 compiles SQL on every
 * prepare(), which cost more than the row itself when a sync stores 100,000 entries; the site log
 * code asks here instead (same SQL text, same statement, for as long as the connection lives).
 */
const caches = new WeakMap<Db, Map<string, Statement>>();

export function stmt(db: Db, sql: string): Statement {
  let cache = caches.get(db);
  if (!cache) caches.set(db, (cache = new Map()));
  let s = cache.get(sql);
  if (!s) cache.set(sql, (s = db.prepare(sql)));
  return s;
}
