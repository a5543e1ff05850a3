import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from '../support/cli.js';
import { NodeProc, onlinePeers, tempRoot } from '../support/nodes.js';
import { count, waitFor } from '../support/wait.js';

const TOPO = path.join(ROOT, 'deploy/netns/topology.sh');
const P = `lm${process.pid % 10000}`;

/**
 * Two family nodes in two namespaces on one bridge (deploy/netns/topology.sh lan). After both
 * restart on new random ports, the addresses they stored for each other are stale: only mDNS can
 * bring them back together.
 */
describe('mDNS: family nodes find each other on a LAN (two namespaces, one bridge)', () => {
  const root = tempRoot();
  let M1: NodeProc, M2: NodeProc;
  const start = (dir: string, name: string, ns: string, mdns = true) =>
    NodeProc.start(
      path.join(root, dir),
      name,
      ['--listen', '/ip4/0.0.0.0/tcp/0', ...(mdns ? ['--mdns'] : []), '--no-relay', '--maintenance-interval', '3600'],
      `${P}${ns}`,
    );

  beforeAll(async () => {
    execFileSync('bash', [TOPO, 'up', P, 'lan'], { stdio: 'inherit' });
    [M1, M2] = await Promise.all([start('m1', 'One', 'm1'), start('m2', 'Two', 'm2')]);
  });

  afterAll(async () => {
    await Promise.all([M1, M2].filter(Boolean).map((n) => n.stop()));
    execFileSync('bash', [TOPO, 'down', P], { stdio: 'inherit' });
    fs.rmSync(root, { recursive: true, force: true });
  });

  it('paired nodes on new ports reconnect through mDNS discovery', async () => {
    const j = await M2.run(['join', await M1.invite()]);
    expect(j.code, j.stderr).toBe(0);
    const oldAddrs = [...M1.addrs, ...M2.addrs];
    // Control: without mDNS, stale addresses leave them apart.
    await Promise.all([M1.stop(), M2.stop()]);
    [M1, M2] = await Promise.all([start('m1', 'One', 'm1', false), start('m2', 'Two', 'm2', false)]);
    // Each has tried the other's stored (stale) addresses once at start and failed: then look.
    await waitFor(() => count(M1.stderr, new RegExp(`dial ${M2.peerId} failed`)) >= 1 && count(M2.stderr, new RegExp(`dial ${M1.peerId} failed`)) >= 1, 60_000, 'both start-up re-dials to fail');
    expect(await onlinePeers(M1)).not.toContain(M2.peerId);

    await Promise.all([M1.stop(), M2.stop()]);
    [M1, M2] = await Promise.all([start('m1', 'One', 'm1'), start('m2', 'Two', 'm2')]);
    expect([...M1.addrs, ...M2.addrs].some((a) => oldAddrs.includes(a))).toBe(false);
    await waitFor(async () => (await onlinePeers(M1)).includes(M2.peerId), 30_000, 'M2 online at M1').catch((err) => {
      throw new Error(`${err.message}\n--- M1:\n${M1.stderr}\n--- M2:\n${M2.stderr}`);
    });
    // The dialling side's view of the live connection is the other's fresh listen address (a new
    // random port), which only mDNS could have told it.
    const views = await Promise.all(
      [
        [M1, M2],
        [M2, M1],
      ].map(async ([me, other]) => {
        const st = await me!.json<any>(['status']);
        const addr: string = st.peers.find((p: any) => p.peerId === other!.peerId)?.address ?? '';
        return other!.addrs.some((a) => a.includes('10.77.5.') && addr.startsWith(a + '/'));
      }),
    );
    expect(views).toContain(true);
  });
});
