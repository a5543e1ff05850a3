import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, tempDir } from '../support/cli.js';

/** Runs the CLI under a pseudo-terminal (util-linux `script`), as a person at a terminal would. */
async function onTty(args: string[]): Promise<string> {
  const r = await cli(args, { tty: true, env: { LOMO_NO_PROGRESS: '' } });
  expect(r.code, r.stderr).toBe(0);
  return r.stdout;
}

describe('scan progress bar', () => {
  let dir: string;
  let cleanup: () => void;
  beforeAll(() => {
    ({ dir, cleanup } = tempDir());
    fs.mkdirSync(path.join(dir, 'lib'));
    fs.writeFileSync(path.join(dir, 'lib/video.mp4'), Buffer.alloc(100 << 20, 3));
  });
  afterAll(() => cleanup());

  it('draws files, bytes, rate and ETA on a TTY, and nothing with --json or without a TTY', async () => {
    const out = await onTty(['--db', path.join(dir, 'a.db'), 'scan', path.join(dir, 'lib')]);
    expect(out).toMatch(/scan \[[=> ]+\]\s+\d+%\s+\d+\/\d+\+? files\s+[\d.]+ MB\/104\.9 MB\s+[\d.]+ [KMG]?B\/s\s+ETA/);
    const json = await onTty(['--db', path.join(dir, 'b.db'), 'scan', path.join(dir, 'lib'), '--json']);
    expect(json).not.toMatch(/ETA/);
    expect(JSON.parse(json.replace(/\r/g, '')).newFiles).toBe(1);
    const piped = await cli(['--db', path.join(dir, 'c.db'), 'scan', path.join(dir, 'lib')], { env: { LOMO_NO_PROGRESS: '' } });
    expect(piped.stderr + piped.stdout).not.toMatch(/ETA/);
  });
});
