/**
 * Runs the real `lomo-peer` executable (built JS in dist/, see `npm run build`) as a child process,
 * the way a user or a script would, and returns its exit code and output.
 */
import { spawn, spawnSync, type ChildProcess, type SpawnOptions } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const CLI = path.join(ROOT, 'bin/lomo-peer.js');

if (!fs.existsSync(path.join(ROOT, 'dist/node/cli.js'))) {
  throw new Error('dist/ is missing: run `npm run build` (deploy/run-tests.sh does) before the tests');
}

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  input?: string;
  /** Prefix the command, e.g. ['setpriv', '--reuid=65534', ...] to run as another user. */
  wrap?: string[];
  timeoutMs?: number;
}

export function runCli(args: string[], opts: CliOptions = {}): CliResult {
  const argv = [...(opts.wrap ?? []), process.execPath, CLI, ...args];
  const r = spawnSync(argv[0]!, argv.slice(1), {
    cwd: opts.cwd,
    env: { ...process.env, LOMO_NO_PROGRESS: '1', ...opts.env },
    input: opts.input,
    encoding: 'utf8',
    timeout: opts.timeoutMs ?? 120_000,
    maxBuffer: 1 << 28,
  });
  if (r.error) throw r.error;
  return { code: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
}

/** Same, but returns the running child (for kill tests). */
export function startCli(args: string[], opts: CliOptions & SpawnOptions = {}): ChildProcess {
  const argv = [...(opts.wrap ?? []), process.execPath, CLI, ...args];
  return spawn(argv[0]!, argv.slice(1), {
    cwd: opts.cwd,
    env: { ...process.env, LOMO_NO_PROGRESS: '1', ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/**
 * SIGKILLs `child` as soon as `ready()` holds (checked every 2 ms) and waits until it is gone:
 * true when it was killed that way, false when it exited on its own first.
 */
export async function killWhen(child: ChildProcess, ready: () => boolean): Promise<boolean> {
  const exited = new Promise<void>((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve() : child.on('exit', () => resolve())));
  const killed = await new Promise<boolean>((resolve) => {
    const t = setInterval(() => {
      if (!ready()) return;
      clearInterval(t);
      child.kill('SIGKILL');
      resolve(true);
    }, 2);
    void exited.then(() => {
      clearInterval(t);
      resolve(false);
    });
  });
  await exited;
  return killed;
}

/** A fresh temp folder, removed by the returned cleanup. */
export function tempDir(prefix = 'lomo-test-'): { dir: string; cleanup: () => void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  return { dir, cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
}
