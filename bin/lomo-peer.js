#!/usr/bin/env node
// Thin launcher: the CLI is compiled from node/cli.ts into dist/ by `npm run build`.
import '../dist/node/cli.js';
