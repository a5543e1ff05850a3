import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT, runCommand, tempDir } from '../support/cli.js';

/** The README's main-job command, run as a user would, twice (the second run must be a no-op). */
describe('README main job (embedded default: folder tiers, no credentials, no peers)', () => {
  const { dir, cleanup } = tempDir('lomo-mainjob-');
  afterAll(() => cleanup());

  it('backs up the sample library through both stages and restores identical bytes, idempotently', async () => {
    // The main job may need only what deploy/install.sh installs: the test tools (ISO readers) are
    // shadowed by stand-ins that fail, as on a fresh machine where they are missing.
    const noTools = path.join(dir, 'no-test-tools');
    fs.mkdirSync(noTools, { recursive: true });
    for (const t of ['bsdtar', '7z', 'xorriso', 'isoinfo', 'genisoimage']) {
      fs.writeFileSync(path.join(noTools, t), `#!/bin/sh\necho "${t}: command not found (install.sh does not install it)" >&2\nexit 127\n`, { mode: 0o755 });
    }
    const env = { LOMO_WORK: dir, LOMOB_MASTER_KEY: '', PATH: `${noTools}:${process.env.PATH}` };
    const first = await runCommand(['bash', path.join(ROOT, 'deploy/run-main-job.sh')], { env, timeoutMs: 300_000 });
    expect(first.code, first.stderr.slice(-3000)).toBe(0);
    expect(first.stdout).toMatch(/main job: 42 files restored from their volumes, identical to the library/);
    expect(first.stdout).toContain('== iso dump');
    expect(first.stdout).toContain('== restore gdrive');
    expect(fs.statSync(path.join(dir, 'passphrase.txt')).mode & 0o777).toBe(0o600);
    // Archived under lomob's scan-root folder, whose name is a keyed token: no path in clear.
    const archived = fs.readdirSync(path.join(dir, 'archive'), { recursive: true }).map(String);
    expect(archived.some((n) => /^[0-9a-f]{30}\/\S+\.iso$/.test(n))).toBe(true);
    expect(archived.join('\n')).not.toMatch(/library|mainjob/);

    const second = await runCommand(['bash', path.join(ROOT, 'deploy/run-main-job.sh')], { env, timeoutMs: 300_000 });
    expect(second.code, second.stderr.slice(-3000)).toBe(0);
    expect(second.stdout).toMatch(/0 new, 0 changed, 42 unchanged, 0 deleted/);
  }, 600_000);
});
