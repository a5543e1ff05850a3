/**
 * The one way tests run the real `lomo-peer` executable (built JS in dist/; deploy/run-tests.sh
 * builds it), the way a user or a script would: always this Node (process.execPath) and the
 * absolute bin path, so the cwd and the PATH's node do not matter.
 *
 * - `cli()`      async: to completion, without blocking the test process (emulators, proxies and
 *                in-process servers keep answering). The default.
 * - `startCli()` async: the running child plus its collected output (kill tests, long runs).
 * - `startCommand()`/`runCommand()`: the same for another program (a deploy script).
 * - `runCli()`   sync: for short commands only. It blocks the vitest worker's event loop, and vitest's
 *                worker RPC gives up after 60 s ("Timeout calling onTaskUpdate", an unhandled error
 *                that fails the run), so it is capped below that: a slow command fails its own test.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { requireE2e } from './project.js';

requireE2e('test/support/cli.ts');

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const CLI = path.join(ROOT, 'bin/lomo-peer.js');

if (!fs.existsSync(path.join(ROOT, 'dist/node/cli.js'))) {
  throw new Error('dist/ is missing: run `npx tsc -p tsconfig.json` (deploy/run-tests.sh does) before the tests');
}

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  cwd?: string;
  /** Added to this process's environment; `undefined` removes a variable. */
  env?: Record<string, string | undefined>;
  /** Written to stdin, then closed (default: empty stdin). */
  input?: string;
  /** Prefix the command, e.g. ['setpriv', '--reuid=65534', ...] to run as another user. */
  wrap?: string[];
  /** Run inside this network namespace (`ip netns exec NAME ...`). */
  netns?: string;
  /** Run under a pseudo-terminal (util-linux `script`); stdout then carries both streams. */
  tty?: boolean;
  /** SIGKILL after this long (default 120 s async, 0 = never; at most 50 s sync). */
  timeoutMs?: number;
}

/** vitest's worker RPC timeout is 60 s; a synchronous child must end well before it. */
const SYNC_LIMIT_MS = 50_000;

function command(args: string[], opts: CliOptions): string[] {
  let argv = [process.execPath, CLI, ...args];
  if (opts.tty) argv = ['script', '-qfec', argv.map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' '), '/dev/null'];
  return [...(opts.netns ? ['ip', 'netns', 'exec', opts.netns] : []), ...(opts.wrap ?? []), ...argv];
}

function environment(opts: CliOptions): NodeJS.ProcessEnv {
  // No progress bars unless a test asks for them (LOMO_NO_PROGRESS: '' under `tty`).
  const env: Record<string, string | undefined> = { ...process.env, LOMO_NO_PROGRESS: '1', ...opts.env };
  for (const k of Object.keys(env)) if (env[k] === undefined) delete env[k];
  return env;
}

/** A running CLI: the child, its exit with everything it printed, and the output so far. */
export interface RunningCli {
  child: ChildProcess;
  done: Promise<CliResult>;
  /** stdout + stderr so far (for waiting on a line). */
  output(): string;
}

export function startCli(args: string[], opts: CliOptions = {}): RunningCli {
  return startCommand(command(args, opts), opts);
}

/** Any other program (a deploy script, a tool), with the same output capture and timeout. */
export function startCommand(argv: string[], opts: Omit<CliOptions, 'wrap' | 'netns' | 'tty'> = {}): RunningCli {
  const child = spawn(argv[0]!, argv.slice(1), { cwd: opts.cwd, env: environment(opts), stdio: ['pipe', 'pipe', 'pipe'] });
  child.stdin!.on('error', () => {}); // a child that exits without reading its stdin
  child.stdin!.end(opts.input ?? '');
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const timer = opts.timeoutMs === 0 ? undefined : setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 120_000);
  const done = new Promise<CliResult>((resolve, reject) => {
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
  return { child, done, output: () => stdout + stderr };
}

/** `startCommand` to completion. */
export function runCommand(argv: string[], opts: Omit<CliOptions, 'wrap' | 'netns' | 'tty'> = {}): Promise<CliResult> {
  return startCommand(argv, opts).done;
}

/**
 * Resolves with the first match of `re` in a running CLI's output, as soon as it is printed;
 * rejects if the process exits first or after `timeoutMs`.
 */
export function outputMatch(run: RunningCli, re: RegExp, timeoutMs = 60_000): Promise<RegExpExecArray> {
  return new Promise((resolve, reject) => {
    const check = () => {
      const m = re.exec(run.output());
      if (m) finish(() => resolve(m));
    };
    const exited = () => finish(() => reject(new Error(`exited before printing ${re}:\n${run.output()}`)));
    const timer = setTimeout(() => finish(() => reject(new Error(`no ${re} after ${timeoutMs} ms:\n${run.output()}`))), timeoutMs);
    const finish = (then: () => void) => {
      clearTimeout(timer);
      run.child.stdout!.off('data', check);
      run.child.stderr!.off('data', check);
      run.child.off('close', exited);
      then();
    };
    // Listeners added after startCli's own, so output() already holds the new chunk.
    run.child.stdout!.on('data', check);
    run.child.stderr!.on('data', check);
    run.child.on('close', exited);
    check();
  });
}

/** Runs the CLI to completion without blocking the event loop. */
export function cli(args: string[], opts: CliOptions = {}): Promise<CliResult> {
  return startCli(args, opts).done;
}

/** Runs a short CLI command synchronously (see the header: capped at 50 s). */
export function runCli(args: string[], opts: CliOptions = {}): CliResult {
  const argv = command(args, opts);
  const timeout = Math.min(opts.timeoutMs ?? SYNC_LIMIT_MS, SYNC_LIMIT_MS);
  const r = spawnSync(argv[0]!, argv.slice(1), {
    cwd: opts.cwd,
    env: environment(opts),
    input: opts.input ?? '',
    encoding: 'utf8',
    timeout,
    maxBuffer: 1 << 28,
  });
  if (r.error) throw r.error;
  if (r.signal === 'SIGTERM' && r.status === null) throw new Error(`lomo-peer ${args.join(' ')}: still running after ${timeout} ms (use the async cli() for long commands)`);
  return { code: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
}

/** The JSON a successful command printed on stdout; throws with its stderr when it failed. */
export function parseJson<T = any>(r: CliResult, what = 'lomo-peer'): T {
  if (r.code !== 0) throw new Error(`${what} failed (${r.code ?? r.signal}): ${r.stderr}`);
  return JSON.parse(r.stdout) as T;
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
