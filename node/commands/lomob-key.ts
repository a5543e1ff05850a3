import type { Argv } from 'yargs';
import { LomobCryptoError } from '../../storage/lomob/crypto.js';
import { EXIT, UserError } from '../exit-codes.js';
import { getPassphrase, readPassphraseFile } from '../passphrase.js';
import type { PassphraseArgs } from '../passphrase-option.js';

/**
 * lomob's master key, for everything lomob encrypted (its volumes in S3, its Drive copies, files
 * of `util encrypt`). lomob read it from `-k` or LOMOB_MASTER_KEY, the same names lomo-peer uses
 * for its own passphrase, so a user who kept lomob's key as lomo-peer's passphrase needs nothing
 * more. A user with a NEW lomo-peer passphrase names the old key with `--lomob-key-file` (first
 * line of the file), which wins over -k, --passphrase-file and LOMOB_MASTER_KEY. docs/lomob.md §6.
 */
export interface LomobKeyArgs extends PassphraseArgs {
  lomobKeyFile?: string;
}

export function withLomobKeyOption<T>(y: Argv<T>): Argv<T & LomobKeyArgs> {
  return y.option('lomob-key-file', {
    type: 'string',
    describe: "lomob's master key for what lomob encrypted, from the first line of this file (else -k, --passphrase-file, $LOMOB_MASTER_KEY, a prompt)",
  }) as unknown as Argv<T & LomobKeyArgs>;
}

export async function lomobMasterKey(args: LomobKeyArgs): Promise<string> {
  if (args.lomobKeyFile !== undefined) {
    const k = readPassphraseFile(args.lomobKeyFile);
    if (k.length === 0) throw new UserError(`--lomob-key-file ${args.lomobKeyFile} is empty`, EXIT.USAGE);
    return k;
  }
  return getPassphrase(args);
}

/**
 * A lomob decryption failure as the CLI reports it. lomob's format cannot tell a wrong key from
 * damage (docs/lomob.md §1), so that case exits 6 (the likely cause when moving in) and says both.
 */
export function lomobUserError(e: unknown): unknown {
  if (!(e instanceof LomobCryptoError)) return e;
  if (e.kind === 'wrong-key-or-damaged') return new UserError(`${e.message}; if you use a new lomo-peer passphrase, give lomob's old key with --lomob-key-file`, EXIT.WRONG_PASSPHRASE);
  if (e.kind === 'too-short') return new UserError(e.message, EXIT.INPUT);
  return new UserError(e.message, EXIT.CORRUPT);
}
