import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT, parseJson, runCli, tempDir } from '../support/cli.js';

/** lomob's command names and flags keep working (issue 16 point 4), on lomob's own imported catalog. */
describe("lomob's names and flags", () => {
  const { dir, cleanup } = tempDir('lomo-names-');
  afterAll(() => cleanup());
  fs.copyFileSync(path.join(ROOT, 'test/fixtures/lomob/lomob.db'), path.join(dir, 'lomob.db'));
  const lp = (...args: string[]) => runCli(['--db', 'lp.db', ...args], { cwd: dir });
  expect(lp('import', 'lomob').code).toBe(0);

  it('list isos is list iso', () => {
    const iso = lp('list', 'iso');
    const isos = lp('list', 'isos');
    expect(isos.code, isos.stderr).toBe(0);
    expect(isos.stdout).toBe(iso.stdout);
    expect(isos.stdout).toContain('2026-12-04--2026-12-04.iso');
  });

  it("list dirs -t prints lomob's table; --tree its tree with modification dates; both together is a usage error", () => {
    const t = lp('list', 'dirs', '-t');
    expect(t.code, t.stderr).toBe(0);
    const lines = t.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^File Counts\s+Total File Size\s+Mod Time\s+Path$/);
    expect(lines.slice(1).map((l) => l.split(/\s{2,}/).pop())).toEqual(['/home/alice/Pictures/2019', '/home/alice/Pictures/2019/05', '/home/alice/Pictures/2021', '/home/alice/Pictures/2021/12']);
    expect(lines.find((l) => l.endsWith('/2019/05'))).toMatch(/^\s+3\s+97\.0 KB\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\s/);
    const tree = lp('list', 'dirs', '--tree');
    expect(tree.code, tree.stderr).toBe(0);
    expect(tree.stdout).toMatch(/^\/home\/alice\/Pictures\n├── \[\s+\d\d\/\d\d\/\d{4}\] 2019\n│   └── \[\s+\d\d\/\d\d\/\d{4}\] 05\n└── \[\s+\d\d\/\d\d\/\d{4}\] 2021\n    └── \[\s+\d\d\/\d\d\/\d{4}\] 12\n$/);
    expect(lp('list', 'dirs', '-t', '--tree').code).toBe(2);
  });

  it('list files --no-cloud leaves out the files that have a copy in the cloud', () => {
    const rel = tempDir('lomo-names-rel-');
    try {
      // The 0.1.0 fixture catalog has a staging file copied to a (folder) cloud tier.
      fs.copyFileSync(path.join(ROOT, 'test/fixtures/release-0.1.0/lomob.db'), path.join(rel.dir, 'lomob.db'));
      const all = parseJson<{ path: string; inCloud: boolean }[]>(runCli(['--db', 'lomob.db', '--json', 'list', 'files'], { cwd: rel.dir }));
      const bare = parseJson<{ path: string; inCloud: boolean }[]>(runCli(['--db', 'lomob.db', '--json', 'list', 'files', '--no-cloud'], { cwd: rel.dir }));
      expect(all.some((f) => f.inCloud)).toBe(true);
      expect(bare).toEqual(all.filter((f) => !f.inCloud));
    } finally {
      rel.cleanup();
    }
  });

  it('iso create --debug logs every file packed and where it sits in the image', () => {
    const d = tempDir('lomo-names-debug-');
    try {
      fs.mkdirSync(path.join(d.dir, 'lib'));
      fs.writeFileSync(path.join(d.dir, 'lib', 'a.jpg'), 'photo a');
      expect(runCli(['--db', 'c.db', 'scan', 'lib'], { cwd: d.dir }).code).toBe(0);
      const plain = runCli(['--db', 'c.db', 'iso', 'create', '--no-encrypt', '--partial', 'one.iso'], { cwd: d.dir });
      expect(plain.stderr).not.toMatch(/DEBUG/);
      fs.rmSync(path.join(d.dir, 'c.db'));
      expect(runCli(['--db', 'c.db', 'scan', 'lib'], { cwd: d.dir }).code).toBe(0);
      const r = runCli(['--db', 'c.db', 'iso', 'create', '--no-encrypt', '--partial', '--debug', 'two.iso'], { cwd: d.dir });
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toMatch(/DEBUG: two\.iso: \S*lib\/a\.jpg \(7 B\) at offset \d+/);
    } finally {
      d.cleanup();
    }
  });
});
