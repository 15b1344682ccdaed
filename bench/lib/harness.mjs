// Plumbing shared by the benchmark: logging, loopback checks, the registry of things to release
// (processes, databases, streams, servers) and child-process helpers. Nothing here knows about the
// product service; bench/run.mjs composes it.
import { spawn } from 'node:child_process';
import { createWriteStream, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { join } from 'node:path';

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export const log = (...args) => console.log(`[bench ${new Date().toISOString().slice(11, 19)}]`, ...args);

// ---------------------------------------------------------------- loopback only

const isLoopbackHost = (host) => /^127(\.\d{1,3}){3}$/.test(host) || host === 'localhost' || host === '[::1]' || host === '::1';

export function assertLoopback(name, url) {
  const host = new URL(url).hostname;
  if (!isLoopbackHost(host)) throw new Error(`${name} must point at a loopback address (127.0.0.0/8, localhost, ::1), got ${host}`);
}

// ---------------------------------------------------------------- resources to release

const cleanups = [];
const stopHooks = new Set();
let stopping = false;
let cleanupPromise;

/** Registers a release step; steps run in reverse order of registration. */
export const onCleanup = (fn) => cleanups.push(fn);

/** Registers something to interrupt at once when the run stops (a running load); returns its remover. */
export function onStop(fn) {
  stopHooks.add(fn);
  return () => stopHooks.delete(fn);
}

export const isStopping = () => stopping;

export class StoppedError extends Error {
  constructor() {
    super('stopped');
  }
}

export function throwIfStopping() {
  if (stopping) throw new StoppedError();
}

/** Releases everything, in reverse order of creation; every caller gets the same promise. */
export function cleanupAll() {
  cleanupPromise ??= (async () => {
    stopping = true;
    for (const fn of stopHooks) {
      try {
        fn();
      } catch {
        // a load that is already over
      }
    }
    for (const fn of cleanups.reverse()) {
      try {
        await fn();
      } catch (err) {
        console.error('[bench] cleanup step failed:', err.message);
      }
    }
  })();
  return cleanupPromise;
}

// ---------------------------------------------------------------- ports, polling

export function freePort() {
  return new Promise((resolvePort, reject) => {
    const srv = createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolvePort(port));
    });
  });
}

/** Polls `url` until it answers `expectStatus`; fails early when `child` exits. Resolves to the time it answered. */
export async function waitFor(url, { timeoutMs, expectStatus = 200, child, intervalMs = 250 }) {
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer';
  while (Date.now() < deadline) {
    throwIfStopping();
    if (child && child.exitCode !== null) throw new Error(`process exited with code ${child.exitCode} while waiting for ${url}`);
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
      await res.arrayBuffer();
      if (res.status === expectStatus) return performance.now();
      last = `status ${res.status}`;
    } catch (err) {
      last = err.message;
    }
    await sleep(intervalMs);
  }
  throw new Error(`${url} did not answer ${expectStatus} within ${timeoutMs / 1000} s (${last})`);
}

/** Polls `check` (async, returns truthy when done) every `intervalMs`, at most `timeoutMs`; resolves to its last value. */
export async function pollUntil(check, { timeoutMs, intervalMs = 200 }) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    throwIfStopping();
    const value = await check();
    if (value.done || Date.now() >= deadline) return value;
    await sleep(intervalMs);
  }
}

// ---------------------------------------------------------------- child processes

/** SIGTERM, then SIGKILL after `graceMs`; resolves to the exit code (or signal name). */
export async function stopProcess(child, graceMs = 10_000) {
  if (child.exitCode !== null || child.signalCode !== null) return child.exitCode ?? child.signalCode;
  const exited = new Promise((r) => child.once('exit', (code, signal) => r(code ?? signal)));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  const result = await exited;
  clearTimeout(timer);
  return result;
}

/** Starts a child process whose output goes to `<logDir>/<name>.log`; registers its shutdown. */
export function startProcess(name, command, args, options) {
  const logFile = join(options.logDir, `${name}.log`);
  const out = createWriteStream(logFile, { flags: 'a' });
  const child = spawn(command, args, { cwd: options.cwd, env: options.env, stdio: ['ignore', 'pipe', 'pipe'] });
  child.spawnedAt = performance.now();
  child.stdout.pipe(out);
  child.stderr.pipe(out);
  child.logFile = logFile;
  child.label = name;
  onCleanup(() => stopProcess(child));
  return child;
}

export const tail = (file, lines = 30) => {
  try {
    return readFileSync(file, 'utf8').trim().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
};

/** utime + stime of a process in clock ticks (100 a second; /proc/<pid>/stat, Linux; 0 when gone). */
export function cpuTicks(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[11]) + Number(fields[12]);
  } catch {
    return 0;
  }
}

/** VmRSS and VmHWM (peak) of a live process, in KiB, from /proc/<pid>/status (Linux); undefined elsewhere. */
export function memoryOf(pid) {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kib = (key) => Number(status.match(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm'))?.[1]);
    return { rss_kib: kib('VmRSS'), peak_rss_kib: kib('VmHWM') };
  } catch {
    return undefined;
  }
}

// ---------------------------------------------------------------- statistics

export const median = (values) => {
  if (values.length === 0) return null;
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
};

/** Nearest-rank percentile of an already sorted array. */
export const percentile = (sorted, p) =>
  sorted.length ? sorted[Math.max(0, Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1))] : null;

export const round = (n, digits = 0) =>
  n === null || n === undefined || !Number.isFinite(n) ? null : Math.round(n * 10 ** digits) / 10 ** digits;
