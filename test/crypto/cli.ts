import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

/** Runs the built CLI (dist/) and collects its output. Shared by test/crypto and test/objects. */
export const ROOT = path.resolve(__dirname, '../..');

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function run(args: string[], opts: { cwd?: string; env?: Record<string, string | undefined>; input?: string } = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const env = { ...process.env, ...opts.env };
    for (const k of Object.keys(env)) if (env[k] === undefined) delete env[k];
    const p = spawn(process.execPath, [path.join(ROOT, 'bin/lomo-peer.js'), ...args], { cwd: opts.cwd, env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    p.on('error', reject);
    p.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
    p.stdin.end(opts.input ?? '');
  });
}

/** CLI tests run the compiled program: `npx tsc -p tsconfig.json` (deploy/run-tests.sh does it). */
export function assertBuilt(): void {
  if (!fs.existsSync(path.join(ROOT, 'dist/node/cli.js'))) throw new Error('dist/ is missing: run `npx tsc -p tsconfig.json` first');
}
