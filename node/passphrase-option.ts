import type { Argv } from 'yargs';

/**
 * The `--encrypt-key/-k` option alone, apart from node/passphrase.ts (which derives keys), so that
 * a command can declare it without loading the crypto modules at start-up (`iso create
 * --no-encrypt` never needs them).
 */
export interface PassphraseArgs {
  encryptKey?: string;
}

export const ENV_KEY = 'LOMOB_MASTER_KEY';

/** Adds `--encrypt-key/-k` to a command (init, iso create, restore, upload...). */
export function withPassphraseOption<T>(y: Argv<T>): Argv<T & PassphraseArgs> {
  return y.option('encrypt-key', {
    alias: 'k',
    type: 'string',
    describe: `Site passphrase (master key) [$${ENV_KEY}]; prompted for when neither is given`,
  }) as Argv<T & PassphraseArgs>;
}
