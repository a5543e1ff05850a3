import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from '../support/cli.js';
import { NodeProc, tempRoot } from '../support/nodes.js';
import { waitFor } from '../support/wait.js';

const TOPO = path.join(ROOT, 'deploy/netns/topology.sh');
const P = `lu${process.pid % 10000}`;

/**
 * Household A behind a router running miniupnpd (Debian's, nftables backend); O outside on the
 * router's WAN segment (deploy/netns/topology.sh upnp). A's node asks the IGD for a port mapping,
 * announces the external address, and O pairs with A by dialling that address from outside.
 */
describe('UPnP: port mapping against a real IGD (miniupnpd in a NAT namespace)', () => {
  const root = tempRoot();
  let A: NodeProc, O: NodeProc;

  beforeAll(async () => {
    execFileSync('bash', [TOPO, 'up', P, 'upnp'], { stdio: 'inherit' });
    [A, O] = await Promise.all([
      NodeProc.start(path.join(root, 'a'), 'Alice', ['--listen', '/ip4/0.0.0.0/tcp/4710', '--upnp', '--no-relay'], `${P}a`),
      NodeProc.start(path.join(root, 'o'), 'Outside', ['--listen', '/ip4/11.77.0.1/tcp/4710', '--no-relay'], `${P}pub`),
    ]);
  });

  afterAll(async () => {
    await Promise.all([A, O].filter(Boolean).map((n) => n.stop()));
    execFileSync('bash', [TOPO, 'down', P], { stdio: 'inherit' });
    fs.rmSync(root, { recursive: true, force: true });
  });

  it('the node maps its port on the router and announces the external address', async () => {
    await waitFor(async () => (await A.json<any>(['status'])).site.addrs.includes('/ip4/11.77.0.2/tcp/4710'), 40_000, 'the mapped address').catch((err) => {
      throw new Error(`${err.message}\n--- A:\n${A.stderr}`);
    });
    const rules = execFileSync('ip', ['netns', 'exec', `${P}ra`, 'nft', 'list', 'table', 'inet', 'lomoupnp'], { encoding: 'utf8' });
    expect(rules).toMatch(/dport 4710 dnat ip to 10\.77\.1\.2:4710/);
  });

  it('a household outside pairs with A through the mapped port', async () => {
    const code = await A.invite();
    const j = await O.run(['join', code]);
    expect(j.code, j.stderr).toBe(0);
    await waitFor(async () => {
      const s = await O.json<any>(['status']);
      return s.peers.some((p: any) => p.peerId === A.peerId && p.online);
    }, 20_000, 'A online at O');
    const s = await O.json<any>(['status']);
    expect(s.peers.find((p: any) => p.peerId === A.peerId).address).toMatch(/^\/ip4\/11\.77\.0\.2\/tcp\/4710\//);
  });
});
