#!/usr/bin/env node
// Thin launcher: the CLI is compiled from node/cli.ts into dist/ by `npm run build`.
// lomo-peer needs Node.js >= 22. On a machine whose system node is older, deploy/install.sh puts
// Node 24 into <project>/.node/; this launcher then runs the CLI under that node instead.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const major = Number(process.versions.node.split('.')[0]);
if (major < 22) {
  const projectNode = fileURLToPath(new URL('../.node/bin/node', import.meta.url));
  if (!existsSync(projectNode)) {
    process.stderr.write(`lomo-peer needs Node.js >= 22 (this is ${process.version}): run deploy/install.sh, which brings Node 24 into .node/\n`);
    process.exit(1);
  }
  const child = spawn(projectNode, [fileURLToPath(import.meta.url), ...process.argv.slice(2)], { stdio: 'inherit' });
  // A signal sent to this launcher alone (kill PID) is passed on; Ctrl-C reaches both anyway.
  for (const s of ['SIGTERM', 'SIGHUP', 'SIGINT']) process.on(s, () => child.kill(s));
  child.on('error', (e) => {
    process.stderr.write(`lomo-peer: cannot run ${projectNode}: ${e.message}\n`);
    process.exit(1);
  });
  child.on('exit', (code, signal) => process.exit(code ?? 128 + (signal === 'SIGKILL' ? 9 : signal === 'SIGINT' ? 2 : 15)));
} else {
  await import('../dist/node/cli.js');
}
