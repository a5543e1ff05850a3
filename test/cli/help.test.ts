import { describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';

/** Every command, found by walking `--help` recursively (so new commands are covered automatically). */
function commandsOf(path: string[]): string[][] {
  const r = runCli([...path, '--help']);
  expect(r.code, `${path.join(' ')} --help: ${r.stderr}`).toBe(0);
  const section = r.stdout.split(/\n(?=Commands:)/)[1];
  if (!section) return [path];
  const subs = [...section.split(/\n\n/)[0]!.matchAll(/^ {2}lomo-peer ((?:\S+ )*?)(\S+)(?= |\n|$)/gm)]
    .map((m) => (m[1]! + m[2]!).trim().split(' ').filter((w) => !w.startsWith('<') && !w.startsWith('[')))
    .filter((words) => words.length === path.length + 1);
  return [path, ...subs.flatMap((s) => commandsOf(s))];
}

describe('help', () => {
  it('every command has help with at least one example, and the top level lists exit codes', () => {
    const all = commandsOf([]);
    expect(all.length).toBeGreaterThan(5);
    for (const cmd of all) {
      const r = runCli([...cmd, '--help']);
      expect(r.stdout, `lomo-peer ${cmd.join(' ')} --help`).toMatch(/Examples:\n\s+lomo-peer \S+/);
    }
    const top = runCli(['--help']).stdout;
    expect(top).toMatch(/Exit codes:\n\s+0\s+success/);
    for (const flag of ['--db', '--log-level', '--json']) expect(top).toContain(flag);
  });
});
