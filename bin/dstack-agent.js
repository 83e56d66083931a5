#!/usr/bin/env node
// Launcher for the bundled host agent (scripts/build.mjs writes dist/agent.js). The single binary is dist/bin/dstack-agent.
import { existsSync } from 'node:fs';
const agent = new URL('../dist/agent.js', import.meta.url);
if (!existsSync(agent)) { process.stderr.write('dstack-agent: dist/agent.js is missing: run npm run build\n'); process.exit(1); }
await import(agent.href);
