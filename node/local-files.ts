import fs from 'node:fs';
import path from 'node:path';
import { log } from './log.js';

/**
 * The site's files on its own machine are for its owner alone: the catalog holds plaintext names
 * and paths and, while an invite is open, its secret (a local user who read one paired itself);
 * the identity key is the site's libp2p identity; the recovery kit's salt and key check let anyone
 * guess the passphrase offline. So the data folder is 0700 and every file in it 0600.
 *
 * How: the CLI (and so the node, which is `lomo-peer node`) runs under umask 077, and the catalog
 * is chmod-ed 0600 when it is created (SQLite gives its -wal and -shm files the catalog's own mode,
 * whatever the umask). Modes that are already looser are not changed behind the owner's back: they
 * are reported once per run, with the command that fixes them.
 */
export const PRIVATE_UMASK = 0o077;

/** File names in the data folder (identity.ts and commands/init.ts re-export them). */
export const IDENTITY_FILE = 'identity.key';
export const RECOVERY_KIT_FILE = 'recovery-kit.txt';

/** Bits that give anyone but the owner access. */
const OTHERS = 0o077;

export interface LooseMode {
  path: string;
  mode: number;
  isDir: boolean;
}

/**
 * The site's files whose mode lets other local users in: the catalog with its -wal and -shm files,
 * the identity key and the recovery kit (those that exist). The data folder itself is created 0700
 * but an existing one is not reported: by default it is the folder the user runs lomo-peer in (a
 * home folder is often 0755), and the files, not the folder, hold what must stay private; a
 * readable folder shows only their names.
 */
export function looseModes(catalog: string, dataDir: string): LooseMode[] {
  const files = [
    catalog,
    `${catalog}-wal`,
    `${catalog}-shm`,
    path.join(dataDir, IDENTITY_FILE),
    path.join(dataDir, RECOVERY_KIT_FILE),
  ];
  const found: LooseMode[] = [];
  for (const f of new Set(files.map((f) => path.resolve(f)))) {
    let st: fs.Stats;
    try {
      st = fs.statSync(f);
    } catch {
      continue; // not created yet
    }
    if ((st.mode & OTHERS) !== 0) found.push({ path: f, mode: st.mode & 0o777, isDir: st.isDirectory() });
  }
  return found;
}

/** One warning naming every loose path and the commands that fix them; null when all are private. */
export function looseModesWarning(found: LooseMode[]): string | null {
  if (found.length === 0) return null;
  const dirs = found.filter((f) => f.isDir).map((f) => shellQuote(f.path));
  const files = found.filter((f) => !f.isDir).map((f) => shellQuote(f.path));
  const fix = [dirs.length > 0 ? `chmod 700 ${dirs.join(' ')}` : '', files.length > 0 ? `chmod 600 ${files.join(' ')}` : ''].filter(Boolean).join('; ');
  const list = found.map((f) => `${f.path} (${f.mode.toString(8).padStart(4, '0')})`).join(', ');
  return `other local users can read or change this site's files: ${list}. The catalog may hold open invitation secrets and file names. Fix: ${fix}`;
}

let warned = false;

/** Logs `looseModesWarning` for this site at most once per run (several catalogs opens, one line). */
export function warnLooseModes(catalog: string, dataDir: string): void {
  if (warned) return;
  warned = true;
  const msg = looseModesWarning(looseModes(catalog, dataDir));
  if (msg) log.warn(msg);
}

/** Whether `file` can be read or changed by other local users (a passphrase file, say). */
export function isOpenToOthers(st: fs.Stats): boolean {
  return (st.mode & OTHERS) !== 0;
}

function shellQuote(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}
