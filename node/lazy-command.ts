import type { CommandModule } from 'yargs';

/**
 * Commands whose modules are imported only when they run. Help listings need just the syntax and
 * one line of description, so every other command is registered as a stub; this keeps heavy
 * dependencies (libp2p, the AWS SDK, Google's client) out of commands that do not use them.
 */
export interface LazyCommand {
  /** yargs syntax, e.g. 'scan <dirs..>'; its first word is the name. */
  command: string;
  /** false: a hidden command (no help line). */
  describe: string | false;
  /** The full module; receives the command words so a parent can resolve its own subcommands. */
  load: (words: string[]) => Promise<CommandModule<any, any>>;
}

/** Global options that take a value, so command words can be found before yargs runs. */
const VALUE_OPTIONS = new Set(['--db', '--data-dir', '--log-level', '-l']);

/** The positional words of a command line: `--db x list gdrive --json` -> ['list', 'gdrive']. */
export function commandWords(argv: string[]): string[] {
  const words: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (VALUE_OPTIONS.has(a)) i++;
    else if (!a.startsWith('-')) words.push(a);
  }
  return words;
}

/** Loads the command named by words[depth]; the others become help-only stubs. */
export function resolveCommands(commands: LazyCommand[], words: string[], depth: number): Promise<CommandModule<any, any>[]> {
  const word = words[depth];
  return Promise.all(
    commands.map((c) => (c.command.split(' ')[0] === word ? c.load(words) : Promise.resolve(stub(c)))),
  );
}

function stub(c: LazyCommand): CommandModule<any, any> {
  return { command: c.command, describe: c.describe, builder: {}, handler: () => {} };
}
