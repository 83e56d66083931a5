#!/usr/bin/env node
// Launcher for the bundled CLI (scripts/build.mjs writes dist/main.js). The single binary is dist/bin/dstack.
import { existsSync } from 'node:fs';
const main = new URL('../dist/main.js', import.meta.url);
if (!existsSync(main)) { process.stderr.write('dstack: dist/main.js is missing: run npm run build\n'); process.exit(1); }
await import(main.href);
