/**
 * Messages point to real commands: every command a message of the program names (`lomo-peer X Y`,
 * or a command in backticks inside a string) exists — its `--help` is that command's own help, not
 * the help of its parent. ("run a cloud check" named a command that never existed.)
 */
import { describe, expect, it } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { ROOT, cli } from '../support/cli.js';

/** Top-level commands whose second word is a subcommand (the others take positionals there). */
const WITH_SUBCOMMANDS = new Set(['list', 'iso', 'upload', 'restore', 'import', 'util']);
const TOP = ['scan', 'list', 'iso', 'init', 'upload', 'restore', 'cost', 'node', 'invite', 'join', 'peers', 'status', 'import', 'util'];

function sources(dir: string): string[] {
  return fs.readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile() && e.name.endsWith('.ts')).map((e) => path.join(e.parentPath, e.name));
}

/** Command lines named in code lines (comments left out), as "w1" or "w1 w2". */
function namedCommands(): Map<string, string> {
  const found = new Map<string, string>();
  const top = TOP.join('|');
  const patterns = [
    // `lomo-peer X …` in backticks is always a command; bare, only when X is a command word ("a lomo-peer catalog" is prose)
    /\\?`lomo-peer (?:--?[a-z][\w-]* (?:<[^>]*>|\S+) )*([a-z][a-z0-9-]*)(?: ([a-z][a-z0-9-]*))?/g,
    new RegExp(`lomo-peer (?:--?[a-z][\\w-]* (?:<[^>]*>|\\S+) )*(${top})(?: ([a-z][a-z0-9-]*))?`, 'g'),
    // a command in escaped backticks inside a template literal, or in backticks inside a quoted string
    new RegExp(`\\\\\`(${top})(?: ([a-z][a-z0-9-]*))?[^\`]*\\\\\``, 'g'),
    new RegExp(`'[^'\\n]*\`(${top})(?: ([a-z][a-z0-9-]*))?[^\`']*\`[^'\\n]*'`, 'g'),
  ];
  for (const file of ['storage', 'node', 'protocol'].flatMap((d) => sources(path.join(ROOT, d)))) {
    for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
      const t = line.trim();
      if (t.startsWith('*') || t.startsWith('//') || t.startsWith('/*')) continue;
      for (const re of patterns) {
        for (const m of t.matchAll(re)) {
          const words = WITH_SUBCOMMANDS.has(m[1]!) && m[2] ? `${m[1]} ${m[2]}` : m[1]!;
          if (!found.has(words)) found.set(words, `${path.relative(ROOT, file)}: ${t.slice(0, 160)}`);
        }
      }
    }
  }
  return found;
}

describe('messages name real commands', () => {
  const named = namedCommands();

  it('finds the commands the messages name', () => {
    expect(named.size).toBeGreaterThan(10);
    expect([...named.keys()]).toContain('restore volume');
  });

  it.each([...named].map(([words, where]) => [words, where] as const))('lomo-peer %s (%s)', async (words) => {
    const r = await cli([...words.split(' '), '--help']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.split('\n')[0]).toMatch(new RegExp(`^lomo-peer ${words}( |$)`));
  });
});
