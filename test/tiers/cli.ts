/** Running the built CLI from tests, asynchronously (emulators and proxies live in the test process). */
import { spawn, type ChildProcess } from 'node:child_process';
import { ROOT } from './build.js';

export interface CliResult {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export function startCli(args: string[], env: Record<string, string> = {}): { child: ChildProcess; done: Promise<CliResult>; output: () => string } {
  const child = spawn('node', ['bin/lomo-peer.js', ...args], { cwd: ROOT, env: { ...process.env, ...env } });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<CliResult>((resolve) => child.on('exit', (status, signal) => resolve({ status, signal, stdout, stderr })));
  return { child, done, output: () => stdout + stderr };
}

export async function runCli(args: string[], env: Record<string, string> = {}, timeoutMs = 120_000): Promise<CliResult> {
  const r = startCli(args, env);
  const t = setTimeout(() => r.child.kill('SIGKILL'), timeoutMs);
  try {
    return await r.done;
  } finally {
    clearTimeout(t);
  }
}
