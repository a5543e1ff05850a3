import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from '../support/cli.js';
import { NodeProc, tempRoot } from '../support/nodes.js';
import { waitFor } from '../support/wait.js';

const TOPO = path.join(ROOT, 'deploy/netns/topology.sh');
const P = `ln${process.pid % 10000}`;

/**
 * Households A and B, each behind its own masquerading NAT router, and a reachable family node R
 * on the public segment between them (deploy/netns/topology.sh nat). B cannot open a connection
 * to A directly; A invites B, B joins through R's circuit relay, and A and B talk.
 */
describe('NAT: pairing and talking through a family relay (network namespaces)', () => {
  const root = tempRoot();
  let R: NodeProc, A: NodeProc, B: NodeProc;

  beforeAll(async () => {
    execFileSync('bash', [TOPO, 'up', P, 'nat'], { stdio: 'inherit' });
    [R, A, B] = await Promise.all([
      NodeProc.start(path.join(root, 'r'), 'Relay', ['--listen', '/ip4/10.77.0.1/tcp/4710', '--relay-server', '--no-relay'], `${P}pub`),
      NodeProc.start(path.join(root, 'a'), 'Alice', ['--listen', '/ip4/0.0.0.0/tcp/4710'], `${P}a`),
      NodeProc.start(path.join(root, 'b'), 'Bob', ['--listen', '/ip4/0.0.0.0/tcp/4710'], `${P}b`),
    ]);
  });

  afterAll(async () => {
    await Promise.all([R, A, B].filter(Boolean).map((n) => n.stop()));
    execFileSync('bash', [TOPO, 'down', P], { stdio: 'inherit' });
    fs.rmSync(root, { recursive: true, force: true });
  });

  it('B behind NAT cannot reach A behind NAT directly', () => {
    const probe = `const s=require('net').connect(4710,'10.77.1.2');s.on('connect',()=>process.exit(0));s.on('error',()=>process.exit(3));setTimeout(()=>process.exit(4),3000)`;
    let code = 0;
    try {
      execFileSync('ip', ['netns', 'exec', `${P}b`, process.execPath, '-e', probe]);
    } catch (err) {
      code = (err as { status: number }).status;
    }
    expect(code).not.toBe(0);
  });

  it('A pairs with the reachable relay node and gets a relay address', async () => {
    const code = await R.invite();
    const j = await A.run(['join', code]);
    expect(j.code, j.stderr).toBe(0);
    await waitFor(async () => (await A.json<any>(['status'])).site.addrs.some((a: string) => a.includes(`/p2p/${R.peerId}/p2p-circuit`)), 30_000, 'a relay reservation at R').catch((err) => {
      throw new Error(`${err.message}\n--- A:\n${A.stderr}\n--- R:\n${R.stderr}`);
    });
  });

  it('A invites, B joins through the relay, and a stream flows between A and B', async () => {
    const code = await A.invite();
    const j = await B.run(['join', code]);
    expect(j.code, j.stderr + A.stderr).toBe(0);
    expect(j.stdout).toMatch(/joined: Alice .* and 1 more family member: Relay/);
    await waitFor(async () => {
      const s = await B.json<any>(['status']);
      const a = s.peers.find((p: any) => p.peerId === A.peerId);
      return a?.online && a.rttMs !== null;
    }, 30_000, 'A online at B with a round-trip time');
    const s = await B.json<any>(['status']);
    const a = s.peers.find((p: any) => p.peerId === A.peerId);
    expect(a.address).toContain('/p2p-circuit');
    expect(a.rttMs).toBeGreaterThanOrEqual(0);
    // R learnt about B from A's roster, and B reaches R directly.
    await waitFor(async () => (await R.json<any[]>(['peers'])).some((p) => p.peerId === B.peerId), 20_000, 'B known at R');
    const st = await A.json<any>(['status']);
    expect(st.peers.find((p: any) => p.peerId === B.peerId)?.online, JSON.stringify(st.peers) + "\n--- A:\n" + A.stderr.slice(-3000) + "\n--- B:\n" + B.stderr.slice(-4000) + "\n--- R:\n" + R.stderr.slice(-4000)).toBe(true);
  });
});
