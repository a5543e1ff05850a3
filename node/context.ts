import { openCatalog, CatalogError, type Db } from '../storage/catalog/db.js';
import path from 'node:path';
import { EXIT, UserError } from './exit-codes.js';
import { warnLooseModes } from './local-files.js';

/** Options every command receives (declared once in node/cli.ts). */
export interface GlobalArgs {
  db: string;
  /** Site data folder (identity, config, local objects); defaults to the catalog's folder. */
  dataDir?: string;
  json: boolean;
  logLevel: number;
}

/**
 * Opens the catalog for one command and always closes it, mapping catalog failures to EXIT.CATALOG.
 * First warns (once per run) if the site's files are open to other local users.
 */
export function withCatalog<T>(args: GlobalArgs, fn: (db: Db) => T, opts: { create?: boolean } = {}): T {
  warnSiteFileModes(args);
  let db: Db;
  try {
    db = openCatalog(args.db, { create: opts.create ?? true });
  } catch (err) {
    if (err instanceof CatalogError) throw new UserError(err.message, EXIT.CATALOG);
    throw err;
  }
  let result: T;
  try {
    result = fn(db);
  } catch (err) {
    db.close();
    throw err;
  }
  if (result instanceof Promise) {
    return result.finally(() => db.close()) as T;
  }
  db.close();
  return result;
}

/** The site's data folder: --data-dir, or the folder holding the catalog. */
export function dataDir(args: GlobalArgs): string {
  return path.resolve(args.dataDir ?? path.dirname(path.resolve(args.db)));
}

/** The start-up check of the site's file modes (node/local-files.ts), for commands that open the catalog. */
export function warnSiteFileModes(args: GlobalArgs): void {
  warnLooseModes(path.resolve(args.db), dataDir(args));
}
