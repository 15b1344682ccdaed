// What bench/profile.mjs and bench/run.mjs (BENCH_PROFILE) print of a V8 profile: the self time of a
// CPU profile, or the allocated bytes of a sampling heap profile, by owner (file of this project, npm
// package, node core) and by function. Frames of the bundle (dist/bundle/service.mjs, what
// `npm start` runs) are mapped back to their sources through its source map, so the owners are the
// same as for dist/src.
import { existsSync, readFileSync } from 'node:fs';
import { SourceMap } from 'node:module';
import { fileURLToPath } from 'node:url';

/** One source map per generated file (null when it has none). */
const maps = new Map();

function sourceMapOf(path) {
  if (!maps.has(path)) maps.set(path, existsSync(`${path}.map`) ? new SourceMap(JSON.parse(readFileSync(`${path}.map`, 'utf8'))) : null);
  return maps.get(path);
}

/** The frame's source file (through the source map when there is one) and line, 1-based. */
function sourceOf(frame) {
  if (!frame.url.startsWith('file://')) return { path: frame.url, line: frame.lineNumber + 1 };
  const path = fileURLToPath(frame.url);
  const entry = sourceMapOf(path)?.findEntry(frame.lineNumber, frame.columnNumber);
  if (!entry || !entry.originalSource) return { path, line: frame.lineNumber + 1 };
  const original = entry.originalSource.startsWith('file://') ? fileURLToPath(entry.originalSource) : entry.originalSource;
  return { path: new URL(original, `file://${path}`).pathname, line: entry.originalLine + 1 };
}

/** Who a frame belongs to (file of this project under `root`, npm package, node core) and its function's name. */
function frameNames(frame, root) {
  const { path, line } = sourceOf(frame);
  const pkg = path.match(/node_modules\/((?:@[^/]+\/)?[^/]+)/)?.[1];
  const owner = pkg
    ? `npm:${pkg}`
    : path.startsWith(root)
      ? path.slice(root.length + 1)
      : path === ''
        ? `(${frame.functionName || 'native'})`
        : path.startsWith('node:')
          ? 'node core'
          : path;
  return { owner, fn: `${frame.functionName || '(anonymous)'} ${owner}:${line}` };
}

/** Shares of `self` (node id → [frame, amount]) by owner and by function, as printable tables. */
function tables(self, what, root) {
  const total = [...self.values()].reduce((a, b) => a + b[1], 0);
  const byFunction = new Map();
  const byOwner = new Map();
  for (const [frame, amount] of self.values()) {
    const { owner, fn } = frameNames(frame, root);
    byFunction.set(fn, (byFunction.get(fn) ?? 0) + amount);
    byOwner.set(owner, (byOwner.get(owner) ?? 0) + amount);
  }
  const top = (map, k) =>
    [...map.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, k)
      .map(([name, amount]) => `${((amount / total) * 100).toFixed(1).padStart(5)} %  ${name}`)
      .join('\n');
  return `${what} by owner (file of this project, npm package, node core):\n${top(byOwner, 25)}\n\n${what} by function:\n${top(byFunction, 30)}`;
}

/** A CPU profile's self time by owner and function. */
export function summarizeCpu(profile, root) {
  const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
  const self = new Map();
  const dt = profile.timeDeltas;
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i];
    self.set(id, [nodes.get(id).callFrame, (self.get(id)?.[1] ?? 0) + (dt[i] ?? 0)]);
  }
  return tables(self, 'self time', root);
}

/** A sampling heap profile's allocated bytes (freed ones included) by owner and function, and per `unit` (request, event...). */
export function summarizeHeap(profile, root, units, unit = 'request') {
  const self = new Map();
  const walk = (node) => {
    if (node.selfSize > 0) self.set(node.id, [node.callFrame, node.selfSize]);
    for (const child of node.children) walk(child);
  };
  walk(profile.head);
  const bytes = [...self.values()].reduce((a, b) => a + b[1], 0);
  return `allocated ${Math.round(bytes / Math.max(1, units))} bytes per ${unit} (sampled)\n\n${tables(self, 'allocated bytes', root)}`;
}
