/** The one CLI runner (test/support/cli.ts): independent of PATH and cwd, output and exits reported. */
import fs from 'node:fs';
import os from 'node:os';
import { describe, expect, it } from 'vitest';
import { cli, outputMatch, parseJson, runCli, startCli, tempDir } from '../support/cli.js';
import { onlinePeers, startFamily } from '../support/nodes.js';

describe('test/support/cli.ts', () => {
  it('runs this Node and the absolute bin path: no node on PATH, any cwd', async () => {
    const opts = { cwd: os.tmpdir(), env: { PATH: '/nonexistent' } };
    expect((await cli(['--help'], opts)).code).toBe(0);
    expect(runCli(['--help'], opts).code).toBe(0);
  });

  it('removes a variable given as undefined, and passes stdin', async () => {
    // Without LOMOB_MASTER_KEY, init reads the passphrase twice from stdin; mismatched: a usage error.
    const { dir, cleanup } = tempDir('lomo-harness-');
    try {
      const r = await cli(['--db', `${dir}/lomob.db`, 'init'], { input: 'one passphrase\nanother one\n', env: { LOMOB_MASTER_KEY: undefined } });
      expect(r.code).not.toBe(0);
      expect(r.stderr).toMatch(/the two passphrases differ/);
    } finally {
      cleanup();
    }
  });

  it('parseJson returns the document or throws with stderr; outputMatch rejects when the process exits first', async () => {
    expect(() => parseJson(runCli(['--db', '/nonexistent/dir/x.db', 'list', 'files', '--json']))).toThrow(/failed \(\d+\)/);
    await expect(outputMatch(startCli(['--help']), /never printed/)).rejects.toThrow(/exited before printing/);
  });
});

describe('test/support/nodes.ts', () => {
  it('startFamily starts N loopback nodes, pair() makes them a full mesh, stop() ends them all', async () => {
    const family = await startFamily(['Ann', 'Ben', 'Cy']);
    try {
      expect(family.nodes.map((n) => n.name)).toEqual(['Ann', 'Ben', 'Cy']);
      for (const n of family.nodes) expect(n.addrs.some((a) => a.startsWith('/ip4/127.0.0.1/tcp/'))).toBe(true);
      await family.pair();
      const [ann, ben, cy] = family.nodes;
      expect(await onlinePeers(ann!)).toEqual([ben!.peerId, cy!.peerId].sort());
    } finally {
      await family.stop();
    }
    expect(family.nodes.map((n) => n.child.exitCode)).toEqual([0, 0, 0]);
    expect(fs.existsSync(family.root)).toBe(false);
  });
});
