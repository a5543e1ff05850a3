import fs from 'node:fs';
import readline from 'node:readline';
import type { Db } from '../storage/catalog/db.js';
import { deriveSiteKeysAsync, WrongPassphraseError, type SiteKeys } from '../storage/crypto/keys.js';
import { loadSodium, type Sodium } from '../storage/crypto/sodium.js';
import { loadSiteKeys, type SiteKeyRow } from '../storage/objects/catalog.js';
import { EXIT, UserError } from './exit-codes.js';
import { isOpenToOthers } from './local-files.js';
import { log } from './log.js';
import { ENV_KEY, type PassphraseArgs } from './passphrase-option.js';

export { ENV_KEY, withPassphraseOption, type PassphraseArgs } from './passphrase-option.js';

/**
 * The site passphrase, as lomob takes its master key: `--encrypt-key/-k` (discouraged: any local
 * user sees a command line), else `--passphrase-file`, else the environment variable
 * LOMOB_MASTER_KEY, else a prompt on the terminal (asked twice when a site is created).
 * The master key is derived once per process and kept only in memory. (The options live in
 * passphrase-option.ts, so that declaring them loads no crypto module.)
 */
export const MIN_PASSPHRASE = 8;

/** Rough entropy: length x log2(alphabet in use). A hint for people, not a security proof. */
export function strengthHint(p: string): { bits: number; verdict: string } {
  let pool = 0;
  if (/[a-z]/.test(p)) pool += 26;
  if (/[A-Z]/.test(p)) pool += 26;
  if (/[0-9]/.test(p)) pool += 10;
  if (/[^A-Za-z0-9]/.test(p)) pool += 33;
  const bits = Math.round([...p].length * Math.log2(Math.max(pool, 2)));
  const verdict =
    bits < 50 ? 'weak: use 5 or more random words' : bits < 80 ? 'fair: a few more words make it strong' : 'strong';
  return { bits, verdict };
}

async function prompt(question: string): Promise<string> {
  const input = process.stdin;
  if (!input.isTTY) return readLineFromPipe(question);
  const rl = readline.createInterface({ input, output: process.stderr, terminal: true });
  // Echo nothing while the passphrase is typed.
  const out = rl as unknown as { _writeToOutput: (s: string) => void; output: NodeJS.WriteStream };
  out._writeToOutput = (s: string) => {
    if (s.includes(question)) process.stderr.write(question);
    else if (s.includes('\n') || s.includes('\r')) process.stderr.write('\n');
  };
  try {
    return await new Promise<string>((resolve) => rl.question(question, resolve));
  } finally {
    rl.close();
  }
}

let pipeLines: AsyncIterator<string> | null = null;
/** Non-interactive stdin (scripts, tests): one passphrase per line. */
async function readLineFromPipe(question: string): Promise<string> {
  process.stderr.write(question + '\n');
  pipeLines ??= readline.createInterface({ input: process.stdin, terminal: false })[Symbol.asyncIterator]();
  const r = await pipeLines.next();
  if (r.done) throw new UserError(`no passphrase: pass --passphrase-file, set ${ENV_KEY}, or run in a terminal`, EXIT.USAGE);
  return r.value;
}

/**
 * `--passphrase-file`: its first line, without the line end (spaces are part of the passphrase).
 * A file other local users can read still works (a container's secrets are often 0444), with a
 * warning that names the fix.
 */
export function readPassphraseFile(file: string): string {
  let text: string;
  try {
    const fd = fs.openSync(file, 'r');
    try {
      const st = fs.fstatSync(fd);
      if (st.isFile() && isOpenToOthers(st)) {
        log.warn(`--passphrase-file ${file} can be read by other local users (mode ${(st.mode & 0o777).toString(8).padStart(4, '0')}): chmod 600 ${file}`);
      }
      text = fs.readFileSync(fd, 'utf8');
    } finally {
      fs.closeSync(fd);
    }
  } catch (err) {
    throw new UserError(`cannot read --passphrase-file ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, EXIT.INPUT);
  }
  return text.split('\n')[0]!.replace(/\r$/, '');
}

/**
 * The passphrase from -k, --passphrase-file, LOMOB_MASTER_KEY or the terminal; `confirm` asks twice
 * and checks strength.
 */
export async function getPassphrase(args: PassphraseArgs, opts: { confirm?: boolean } = {}): Promise<string> {
  let p = args.encryptKey ?? (args.passphraseFile !== undefined ? readPassphraseFile(args.passphraseFile) : undefined) ?? process.env[ENV_KEY];
  const fromPrompt = p === undefined;
  if (p === undefined) {
    p = await prompt('Passphrase: ');
    if (opts.confirm) {
      const { bits, verdict } = strengthHint(p);
      process.stderr.write(`strength: about ${bits} bits, ${verdict}\n`);
      const again = await prompt('Passphrase again: ');
      if (again !== p) throw new UserError('the two passphrases differ; nothing was created. Run the command again.', EXIT.USAGE);
    }
  }
  if (p.length === 0) throw new UserError('the passphrase is empty', EXIT.USAGE);
  if (opts.confirm && [...p].length < MIN_PASSPHRASE) {
    throw new UserError(`the passphrase is too short (${[...p].length} characters; at least ${MIN_PASSPHRASE}, better 5+ random words)`, EXIT.USAGE);
  }
  if (opts.confirm && !fromPrompt) {
    const { bits, verdict } = strengthHint(p);
    process.stderr.write(`passphrase strength: about ${bits} bits, ${verdict}\n`);
  }
  return p;
}

export interface UnlockedSite {
  sodium: Sodium;
  keys: SiteKeys;
  site: SiteKeyRow;
}

const unlocked = new Map<string, SiteKeys>();

/**
 * The site's keys, checked against the stored key check value: a wrong passphrase stops here with
 * EXIT.WRONG_PASSPHRASE, before any data is read or any file is created. Argon2id runs at most once
 * per process and passphrase.
 */
export async function unlockSite(db: Db, args: PassphraseArgs): Promise<UnlockedSite> {
  const site = loadSiteKeys(db);
  if (!site) throw new UserError('this site has no keys yet: run `lomo-peer init` first (with the same --db)', EXIT.USAGE);
  const sodium = await loadSodium();
  const passphrase = await getPassphrase(args);
  const cacheKey = `${Buffer.from(site.kdf.salt).toString('hex')}:${site.kdf.opslimit}:${site.kdf.memlimit}:${passphrase}`;
  let keys = unlocked.get(cacheKey);
  if (!keys) {
    // In the thread pool: the caller may lay out its work meanwhile (iso create does).
    keys = await deriveSiteKeysAsync(sodium, passphrase, site.kdf);
    unlocked.set(cacheKey, keys);
  }
  try {
    keys.verify(site.keyCheck);
  } catch (e) {
    if (e instanceof WrongPassphraseError) throw new UserError(`${e.message}. Nothing was read or written.`, EXIT.WRONG_PASSPHRASE);
    throw e;
  }
  return { sodium, keys, site };
}
