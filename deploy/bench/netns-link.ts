import { execFileSync, spawn, type ChildProcess } from 'node:child_process';

/** Two namespaces and the addresses of their ends of the link under test (deploy/netns/topology.sh). */
export interface Link {
  nx: string;
  ny: string;
  xIp: string;
  yIp: string;
  label: string;
}

/** Runs a command in a network namespace and returns its standard output. */
export const inNs = (ns: string, cmd: string, args: string[]) => execFileSync('ip', ['netns', 'exec', ns, cmd, ...args], { encoding: 'utf8', maxBuffer: 1 << 26 });

/** iperf3's goodput from x to y over the link, bits per second (the baseline of the network benches). */
export function iperf3Goodput(l: Link, secs: number, streams = 1): number {
  let server: ChildProcess | null = null;
  const serve = () => spawn('ip', ['netns', 'exec', l.ny, 'iperf3', '-s', '-1', '-B', l.yIp, '-p', '5201'], { stdio: 'ignore' });
  try {
    // On a loaded machine the server may take seconds to listen: retry, restarting it if it quit.
    for (let attempt = 0; ; attempt++) {
      if (server === null || server.exitCode !== null || server.signalCode !== null) server = serve();
      try {
        const out = JSON.parse(inNs(l.nx, 'iperf3', ['-c', l.yIp, '-p', '5201', '-t', String(secs), '-P', String(streams), '-J']));
        const bps = out?.end?.sum_received?.bits_per_second;
        if (typeof bps !== 'number') throw new Error(`iperf3: ${out?.error ?? 'no result'}`);
        return bps;
      } catch (err) {
        if (attempt >= 60) throw err;
        execFileSync('sleep', ['0.3']);
      }
    }
  } finally {
    server?.kill('SIGKILL');
  }
}
