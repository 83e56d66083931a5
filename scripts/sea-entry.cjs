'use strict';
// The main script of both single binaries (Node 20 SEA). Node 20 only runs one CommonJS script whose
// require() sees built-ins, while the CLI is an ESM bundle with lazy chunks (ink has top-level await) and
// oclif needs a package.json on disk (reference/node-packages.md §2–3). So the bundled files are written once
// to a content-addressed cache dir and main is imported from there. (Importing the agent from a data: URL
// instead also works, but measured 1.6× slower to start than a file: 620 vs 380 ms.)
const sea = require('node:sea');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { pathToFileURL } = require('node:url');

function cacheRoots() {
  const xdg = process.env.XDG_CACHE_HOME;
  const base = xdg && path.isAbsolute(xdg) ? xdg : path.join(os.homedir(), '.cache');
  // A read-only home (CI sandboxes, other users' HOME) must not stop the binary from starting.
  return [path.join(base, 'dstack'), path.join(os.tmpdir(), `dstack-cache-${process.getuid ? process.getuid() : 'u'}`)];
}

function extractTo(root, manifest) {
  const dir = path.join(root, manifest.hash);
  if (fs.existsSync(path.join(dir, '.complete'))) return dir;
  // Write into a private temp dir and rename it into place, so a concurrent or killed first run never
  // leaves a half-written tree that a later run would trust.
  const tmp = `${dir}.tmp-${process.pid}`;
  fs.rmSync(tmp, { recursive: true, force: true });
  for (const file of manifest.files) {
    const dest = path.join(tmp, file);
    fs.mkdirSync(path.dirname(dest), { recursive: true, mode: 0o700 });
    fs.writeFileSync(dest, new Uint8Array(sea.getAsset(file)));
  }
  fs.writeFileSync(path.join(tmp, '.complete'), '');
  try {
    fs.renameSync(tmp, dir);
  } catch (e) {
    fs.rmSync(tmp, { recursive: true, force: true });
    if (!fs.existsSync(path.join(dir, '.complete'))) throw e;
  }
  return dir;
}

function extract(manifest) {
  let lastError;
  for (const root of cacheRoots()) {
    try {
      return extractTo(root, manifest);
    } catch (e) {
      lastError = e;
    }
  }
  throw lastError;
}

function entryUrl() {
  const manifest = JSON.parse(sea.getAsset('manifest.json', 'utf8'));
  return pathToFileURL(path.join(extract(manifest), manifest.main)).href;
}

try {
  import(entryUrl()).catch((e) => {
    process.stderr.write(`${e && e.stack ? e.stack : e}\n`);
    process.exit(1);
  });
} catch (e) {
  process.stderr.write(`dstack: cannot unpack the bundled program: ${e && e.message ? e.message : e}\n`);
  process.exit(1);
}
