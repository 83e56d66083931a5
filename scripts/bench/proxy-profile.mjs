/**
 * Where the bench proxy's CPU goes: its V8 CPU profile (taken over one wrk run, see proxy-server.ts) as self time
 * grouped by owner. A sample belongs to the nearest frame up its stack that is node:http, undici or our code, so
 * the native socket writes and stream internals count for whoever called them (undici writes the upstream request,
 * node:http the client response); GC is its own group; what has no owner on its stack (event loop, timers, V8's
 * compiler and runtime) is "node/V8 runtime". The bundle is esbuild's unminified output, whose `// path` comments
 * say which source module each line came from.
 */
import { readFile } from 'node:fs/promises';

export const GROUPS = [
  'socket write syscalls (kernel loopback TCP)',
  'node:http (parse, write)',
  'undici (dispatch, parse, write)',
  'fast path (src/proxy/fast)',
  'other code of ours (src/proxy)',
  'GC',
  'node/V8 runtime',
];
const [SYSCALLS, HTTP, UNDICI, FAST, OURS, GC, RUNTIME] = GROUPS;
/** V8's names for the native frames that issue a socket's write(2)/writev(2). */
const WRITES = new Set(['writev', 'writeBuffer', 'writeLatin1String', 'writeUtf8String', 'writeAsciiString']);

/** Line ranges of the bundle's source modules: [[firstLine, modulePath], …] in line order. */
async function bundleModules(bundlePath) {
  const starts = [];
  (await readFile(bundlePath, 'utf8')).split('\n').forEach((line, i) => {
    const m = /^\/\/ ((?:node_modules|src|scripts)\/\S+)$/.exec(line);
    if (m) starts.push([i, m[1]]);
  });
  return (line) => {
    let lo = 0;
    let hi = starts.length - 1;
    let found = '';
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (starts[mid][0] <= line) {
        found = starts[mid][1];
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return found;
  };
}

/**
 * `{ busyUs, groups: [{ name, us }], top: [{ name, group, us }] }` for the profile at `profilePath` of the bundle at
 * `bundlePath`; `top` is the `topN` functions by self time.
 */
export async function profileBreakdown(profilePath, bundlePath, topN = 10) {
  const profile = JSON.parse(await readFile(profilePath, 'utf8'));
  const moduleAt = await bundleModules(bundlePath);
  const bundleName = bundlePath.split('/').pop();
  const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);

  const ownerOf = (frame) => {
    if (frame.url.endsWith(bundleName)) {
      const mod = moduleAt(frame.lineNumber);
      if (mod.includes('/undici/')) return UNDICI;
      if (mod.startsWith('src/proxy/fast/')) return FAST;
      if (mod.startsWith('src/')) return OURS;
      return undefined;
    }
    if (/^node:(_http|internal\/http)/.test(frame.url)) return HTTP;
    return undefined;
  };
  const groupCache = new Map();
  const groupOf = (id) => {
    const cached = groupCache.get(id);
    if (cached !== undefined) return cached;
    let group = RUNTIME;
    const leaf = nodes.get(id).callFrame.functionName;
    if (leaf === '(idle)') group = null;
    else if (leaf === '(garbage collector)') group = GC;
    else if (WRITES.has(leaf) && nodes.get(id).callFrame.url === '') group = SYSCALLS;
    else {
      for (let at = id; at !== undefined; at = parent.get(at)) {
        const owner = ownerOf(nodes.get(at).callFrame);
        if (owner) {
          group = owner;
          break;
        }
      }
    }
    groupCache.set(id, group);
    return group;
  };

  const byGroup = new Map(GROUPS.map((g) => [g, 0]));
  const byFunction = new Map();
  let busyUs = 0;
  const { samples, timeDeltas } = profile;
  for (let i = 0; i < samples.length; i++) {
    // A sample's time is the delta to the next one (the last has none).
    const us = timeDeltas[i + 1] ?? 0;
    const group = groupOf(samples[i]);
    if (group === null) continue;
    busyUs += us;
    byGroup.set(group, byGroup.get(group) + us);
    const frame = nodes.get(samples[i]).callFrame;
    const where = frame.url.endsWith(bundleName) ? moduleAt(frame.lineNumber) : frame.url;
    const name = `${frame.functionName || '(anonymous)'}${where ? ` ${where.replace(/^node_modules\//, '')}` : ''}`;
    const key = `${group}\0${name}`;
    byFunction.set(key, (byFunction.get(key) ?? 0) + us);
  }
  const top = [...byFunction.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, topN)
    .map(([key, us]) => {
      const [group, name] = key.split('\0');
      return { name, group, us };
    });
  return { busyUs, groups: GROUPS.map((name) => ({ name, us: byGroup.get(name) })), top };
}

/** Bench notes for `profileBreakdown`'s result `p`, with `p.requests` the requests served while profiling. */
export function profileNotes(p) {
  const f0 = (n) => Math.round(n).toLocaleString('en-US');
  const share = (us) => `${((us / p.busyUs) * 100).toFixed(0)}%`;
  const perReq = (us) => `${(us / p.requests).toFixed(1)} µs/req`;
  return [
    `Where the proxy's time goes (V8 CPU profile of a second proxy process over one wrk -c64 run, ${f0(p.requests)} requests, ` +
      `${perReq(p.busyUs)} sampled): ${p.groups.map((g) => `${g.name} ${share(g.us)} (${perReq(g.us)})`).join(', ')}. ` +
      'Socket writes are their own group whoever issued them (on loopback the kernel delivers the bytes to the receiver inside write(2)); ' +
        'the rest of a native frame counts for the nearest caller that is node:http, undici or ours.',
    `Top self time: ${p.top.map((t) => `${t.name} [${t.group.split(' ')[0]}] ${share(t.us)}`).join('; ')}.`,
    'The profile samples wall time while the thread is not idle: on a shared box a socket write that wakes the receiver ' +
      '(wrk, the upstream) is where the proxy gets descheduled, so writes weigh more here than their CPU cost (compare with CPU µs/req).',
  ];
}
