/**
 * Helpers for the network tests: real `lomo-peer` processes (built JS in dist/), optionally inside
 * a network namespace, with their output captured for assertions.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const CLI = path.join(ROOT, 'bin/lomo-peer.js');
if (!fs.existsSync(path.join(ROOT, 'dist/node/cli.js'))) throw new Error('dist/ is missing: run `npx tsc -p tsconfig.json` first');

export interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the CLI to completion without blocking the event loop (in-process peers keep running). */
export function cli(args: string[], opts: { netns?: string; timeoutMs?: number } = {}): Promise<Result> {
  const argv = [...(opts.netns ? ['ip', 'netns', 'exec', opts.netns] : []), process.execPath, CLI, ...args];
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

export function tempRoot(prefix = 'lomo-net-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** A running `lomo-peer node` for one site (data folder `dir`, catalog `dir/lomob.db`). */
export class NodeProc {
  stderr = '';
  peerId = '';
  addrs: string[] = [];
  private exited: Promise<number | null>;

  private constructor(
    readonly dir: string,
    readonly child: ChildProcess,
    readonly netns?: string,
  ) {
    this.exited = new Promise((resolve) => child.on('close', (code) => resolve(code)));
    child.stderr!.on('data', (d) => (this.stderr += d));
  }

  get db(): string {
    return path.join(this.dir, 'lomob.db');
  }

  static async start(dir: string, name: string, extra: string[] = [], netns?: string): Promise<NodeProc> {
    fs.mkdirSync(dir, { recursive: true });
    const args = [
      CLI, '--db', path.join(dir, 'lomob.db'), '--json', '-l', '5', 'node', '--site-name', name,
      '--maintenance-interval', '1',
      ...(extra.includes('--upnp') ? [] : ['--no-upnp']),
      ...(extra.includes('--mdns') ? [] : ['--no-mdns']),
      ...extra,
    ];
    const argv = [...(netns ? ['ip', 'netns', 'exec', netns] : []), process.execPath, ...args];
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
    const node = new NodeProc(dir, child, netns);
    const started = await new Promise<{ peerId: string; addrs: string[] }>((resolve, reject) => {
      let out = '';
      const timer = setTimeout(() => reject(new Error(`node ${name} did not start:\n${node.stderr}`)), 30_000);
      child.stdout!.on('data', (d) => {
        out += d;
        try {
          const v = JSON.parse(out);
          clearTimeout(timer);
          resolve(v);
        } catch {
          // wait for the whole JSON document
        }
      });
      child.on('close', (code) => reject(new Error(`node ${name} exited with ${code}:\n${node.stderr}`)));
    });
    node.peerId = started.peerId;
    node.addrs = started.addrs;
    return node;
  }

  /** Runs a CLI command against this site (same catalog and data folder, same namespace). */
  run(args: string[]): Promise<Result> {
    return cli(['--db', this.db, ...args], { netns: this.netns });
  }

  async json<T = any>(args: string[]): Promise<T> {
    const r = await this.run(['--json', ...args]);
    if (r.code !== 0) throw new Error(`${args.join(' ')} failed (${r.code}): ${r.stderr}`);
    return JSON.parse(r.stdout) as T;
  }

  async invite(extra: string[] = []): Promise<string> {
    const r = await this.run(['invite', ...extra]);
    if (r.code !== 0) throw new Error(`invite failed (${r.code}): ${r.stderr}`);
    return r.stdout.trim();
  }

  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 10_000);
    const code = await this.exited;
    clearTimeout(timer);
    return code;
  }
}

export async function waitFor(check: () => Promise<boolean> | boolean, timeoutMs: number, what: string): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** Peers a site sees online (from `status --json`). */
export async function onlinePeers(node: NodeProc): Promise<string[]> {
  const s = await node.json<{ peers: { peerId: string; online: boolean }[] }>(['status']);
  return s.peers.filter((p) => p.online).map((p) => p.peerId).sort();
}
