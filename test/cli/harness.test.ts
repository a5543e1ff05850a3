/** The one CLI runner (test/support/cli.ts): independent of PATH and cwd, output and exits reported. */
import os from 'node:os';
import { describe, expect, it } from 'vitest';
import { cli, outputMatch, parseJson, runCli, startCli, tempDir } from '../support/cli.js';

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
