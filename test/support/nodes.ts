/**
 * Real `lomo-peer node` processes for the network tests, optionally inside a network namespace,
 * with their output captured for assertions; `startFamily` brings up N of them on loopback.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { cli, parseJson, startCli, type CliResult, type RunningCli } from './cli.js';
import { waitFor } from './wait.js';

export function tempRoot(prefix = 'lomo-net-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** A running `lomo-peer node` for one site (data folder `dir`, catalog `dir/lomob.db`). */
export class NodeProc {
  peerId = '';
  addrs: string[] = [];
  /** Everything the node logged so far (it logs at debug level: `-l 5`). */
  stderr = '';

  private constructor(
    readonly dir: string,
    readonly name: string,
    private readonly proc: RunningCli,
    readonly netns?: string,
  ) {
    proc.child.stderr!.on('data', (d) => (this.stderr += d));
  }

  get child() {
    return this.proc.child;
  }

  get db(): string {
    return path.join(this.dir, 'lomob.db');
  }

  /** Starts a node and waits for the JSON document it prints once listening (peer id, addresses). */
  static async start(dir: string, name: string, extra: string[] = [], netns?: string): Promise<NodeProc> {
    fs.mkdirSync(dir, { recursive: true });
    const args = [
      '--db', path.join(dir, 'lomob.db'), '--json', '-l', '5', 'node', '--site-name', name,
      '--maintenance-interval', '1',
      ...(extra.includes('--upnp') ? [] : ['--no-upnp']),
      ...(extra.includes('--mdns') ? [] : ['--no-mdns']),
      ...extra,
    ];
    const proc = startCli(args, { netns, timeoutMs: 0 });
    const node = new NodeProc(dir, name, proc, netns);
    const started = await new Promise<{ peerId: string; addrs: string[] }>((resolve, reject) => {
      let out = '';
      const timer = setTimeout(() => {
        proc.child.kill('SIGKILL');
        reject(new Error(`node ${name} did not start:\n${node.stderr}`));
      }, 30_000);
      proc.child.stdout!.on('data', (d) => {
        out += d;
        try {
          const v = JSON.parse(out);
          clearTimeout(timer);
          resolve(v);
        } catch {
          // wait for the whole JSON document
        }
      });
      void proc.done.then((r) => {
        clearTimeout(timer);
        reject(new Error(`node ${name} exited with ${r.code ?? r.signal}:\n${node.stderr}`));
      });
    });
    node.peerId = started.peerId;
    node.addrs = started.addrs;
    return node;
  }

  /** Runs a CLI command against this site (same catalog and data folder, same namespace). */
  run(args: string[]): Promise<CliResult> {
    return cli(['--db', this.db, ...args], { netns: this.netns, timeoutMs: 60_000 });
  }

  async json<T = any>(args: string[]): Promise<T> {
    return parseJson<T>(await this.run(['--json', ...args]), args.join(' '));
  }

  async invite(extra: string[] = []): Promise<string> {
    const r = await this.run(['invite', ...extra]);
    if (r.code !== 0) throw new Error(`invite failed (${r.code}): ${r.stderr}`);
    return r.stdout.trim();
  }

  /** Signals the node and waits for its exit code (SIGKILL after 10 s). */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
    const child = this.proc.child;
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    const { code } = await this.proc.done;
    clearTimeout(timer);
    return code;
  }
}

/** Peers a site sees online (from `status --json`). */
export async function onlinePeers(node: NodeProc): Promise<string[]> {
  const s = await node.json<{ peers: { peerId: string; online: boolean }[] }>(['status']);
  return s.peers.filter((p) => p.online).map((p) => p.peerId).sort();
}

export const LOOPBACK = ['--listen', '/ip4/127.0.0.1/tcp/0'];

/** N households' nodes on loopback, each with its own temp data folder. */
export interface Family {
  root: string;
  nodes: NodeProc[];
  /** Another node in the same temp root (stopped by `stop()` too). */
  add(name: string, extra?: string[]): Promise<NodeProc>;
  /** The first node invites every other; resolves when each sees all the others online. */
  pair(): Promise<void>;
  /** Stops every node and removes the temp root (for afterAll). */
  stop(): Promise<void>;
}

/** Starts one node per name on 127.0.0.1 (random ports), in parallel; `extra` goes to every node. */
export async function startFamily(names: string[], extra: string[] = []): Promise<Family> {
  const root = tempRoot();
  const nodes: NodeProc[] = [];
  const add = async (name: string, more: string[] = extra) => {
    const n = await NodeProc.start(path.join(root, name.toLowerCase()), name, [...LOOPBACK, ...more]);
    nodes.push(n);
    return n;
  };
  const family: Family = {
    root,
    nodes,
    add,
    async pair() {
      const [first, ...rest] = nodes;
      for (const n of rest) {
        const r = await n.run(['join', await first!.invite()]);
        if (r.code !== 0) throw new Error(`${n.name} could not join ${first!.name} (${r.code}): ${r.stderr}`);
      }
      for (const n of nodes) {
        const want = nodes.filter((x) => x !== n).map((x) => x.peerId).sort();
        await waitFor(async () => JSON.stringify(await onlinePeers(n)) === JSON.stringify(want), 30_000, `${n.name} online with the whole family`);
      }
    },
    async stop() {
      await Promise.all(nodes.map((n) => n.stop()));
      fs.rmSync(root, { recursive: true, force: true });
    },
  };
  // Started in parallel, listed in the order of `names`; if one fails, none is left running.
  const started = await Promise.allSettled(names.map((name) => NodeProc.start(path.join(root, name.toLowerCase()), name, [...LOOPBACK, ...extra])));
  for (const r of started) if (r.status === 'fulfilled') nodes.push(r.value);
  const failed = started.find((r) => r.status === 'rejected');
  if (failed) {
    await family.stop();
    throw failed.reason;
  }
  return family;
}
