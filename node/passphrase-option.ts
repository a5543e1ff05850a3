import type { Argv } from 'yargs';

/**
 * The passphrase options alone, apart from node/passphrase.ts (which derives keys), so that a
 * command can declare them without loading the crypto modules at start-up (`iso create
 * --no-encrypt` never needs them).
 */
export interface PassphraseArgs {
  encryptKey?: string;
  passphraseFile?: string;
}

export const ENV_KEY = 'LOMOB_MASTER_KEY';

/**
 * Adds `--passphrase-file` and lomob's `--encrypt-key/-k` to a command (init, iso create, restore,
 * upload...). `-k` stays for scripts written for lomob, but a command line is readable by every
 * local user in /proc/<pid>/cmdline (ps shows it): docs/security-model.md, "Secrets on command lines".
 */
export function withPassphraseOption<T>(y: Argv<T>): Argv<T & PassphraseArgs> {
  return y
    .option('passphrase-file', {
      type: 'string',
      describe: `Read the site passphrase from the first line of this file (keep it mode 0600); else $${ENV_KEY}, else a prompt`,
    })
    .option('encrypt-key', {
      alias: 'k',
      type: 'string',
      describe: 'Site passphrase on the command line (lomob-compatible, discouraged: other local users can read it in the process list)',
    })
    .conflicts('encrypt-key', 'passphrase-file') as unknown as Argv<T & PassphraseArgs>;
}
