import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { probe } from './http.js';
import { exec, isAlive, processSample, sleep, StopWaiting, waitFor } from './proc.js';
import { REPO_ROOT, say, type ChaosRun } from './run.js';

export const INTERNAL_SECRET = 'chaos-internal-secret';
export const INTERNAL_HEADERS = { 'x-internal-service': 'true', 'x-internal-service-secret': INTERNAL_SECRET };
/** what `npm start` and the image run */
export const ENTRY = join(REPO_ROOT, 'dist', 'bundle', 'main.mjs');

/** The `NAME=value` assignments that open package.json's `scripts.start` (glibc's malloc thresholds; the Dockerfile's ENV sets the same). */
export function startEnv(script: string): Record<string, string> {
  const prefix = script.slice(0, script.search(/(^|\s)node\s/)).trim();
  return Object.fromEntries(
    prefix
      .split(/\s+/)
      .filter(Boolean)
      .map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]),
  );
}

/** What `npm start` sets besides the Node flags, for every process the tests start as `npm start` would. */
export const START_ENV = startEnv(
  (JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { scripts: { start: string } }).scripts.start,
);
const BUILD_TIMEOUT_MS = 300_000;

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(path) : statSync(path).mtimeMs);
  }
  return newest;
}

const isFresh = () =>
  existsSync(ENTRY) && statSync(ENTRY).mtimeMs >= Math.max(newestMtime(join(REPO_ROOT, 'src')), newestMtime(join(REPO_ROOT, 'scripts')));

/**
 * Builds dist/ (npm run build) when the bundle is missing or older than a file in src/ or scripts/
 * (the bundler). One build at a time across Jest's workers: a lock directory (mkdir is atomic),
 * taken over when older than the build's own timeout.
 */
export async function ensureBuilt(): Promise<void> {
  if (isFresh()) return;
  const lock = join(REPO_ROOT, 'dist', '.build-lock');
  mkdirSync(join(REPO_ROOT, 'dist'), { recursive: true });
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch {
      if (Date.now() - (statSync(lock, { throwIfNoEntry: false })?.mtimeMs ?? Date.now()) > BUILD_TIMEOUT_MS)
        rmSync(lock, { recursive: true, force: true });
      else await sleep(500);
    }
  }
  try {
    if (isFresh()) return;
    say('build', 'dist/ is missing or older than src/ or scripts/: npm run build');
    const r = await exec('npm', ['run', 'build'], { timeoutMs: BUILD_TIMEOUT_MS });
    if (r.code !== 0) throw new Error(`npm run build failed:\n${r.stdout}\n${r.stderr}`);
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

/**
 * One service process (`node dist/bundle/main.mjs`, as `npm start` runs it) with the environment it gets in production, its
 * output in the run's log directory. Faults: kill -9, SIGSTOP/SIGCONT; restart on the same port.
 */
export class ServiceProcess {
  private child?: ChildProcess;
  /** how many times the process was started */
  starts = 0;
  readonly logFile: string;

  constructor(
    private readonly run: ChaosRun,
    readonly name: string,
    readonly port: number,
    private readonly env: Record<string, string>,
    /** HEALTH_PORT: the probes' own listener, probed as the Deployment's kubelet probes it */
    readonly healthPort: number,
  ) {
    this.logFile = join(run.logDir, `${name}.log`);
    run.defer(name, async () => {
      await this.stop();
    });
  }

  /** Changes one variable of the environment for the next start. */
  setEnv(name: string, value: string): void {
    this.env[name] = value;
  }

  get baseUrl(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** where the probes go (HEALTH_PORT, deploy/k8s/deployment.yaml) */
  get healthUrl(): string {
    return `http://127.0.0.1:${this.healthPort}`;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  /**
   * Spawns the process and waits until /health/ready answers 200. `underLoad`: a restart while the
   * load goes on; if readiness has not answered 200 within the timeout but the process is up and
   * answering HTTP, the start is counted in `notReadyStarts` (with what readiness said) instead of
   * failing the scenario.
   */
  async start(timeoutMs = 60_000, options: { underLoad?: boolean } = {}): Promise<boolean> {
    if (this.running) throw new Error(`${this.name} is already running`);
    const log = openSync(this.logFile, 'a');
    const child = spawn(process.execPath, ['--max-semi-space-size=16', ENTRY], {
      cwd: REPO_ROOT,
      env: {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        HOME: process.env.HOME ?? '/root',
        ...START_ENV,
        ...this.env,
        // the API port's accept sockets, to compare layouts (test/chaos/README.md)
        ...(process.env.HTTP_ACCEPT_SOCKETS ? { HTTP_ACCEPT_SOCKETS: process.env.HTTP_ACCEPT_SOCKETS } : {}),
        PORT: String(this.port),
        HEALTH_PORT: String(this.healthPort),
      },
      stdio: ['ignore', log, log],
    });
    closeSync(log);
    this.run.trackPid(child.pid!);
    this.child = child;
    this.starts++;
    const seen: Record<string, number> = {};
    try {
      await waitFor(
        `${this.name} /health/ready`,
        async () => {
          if (child.exitCode !== null || child.signalCode !== null) {
            throw new StopWaiting(`${this.name} exited (${child.exitCode ?? child.signalCode}) during start:\n${this.logTail()}`);
          }
          const status = (await probe(`${this.healthUrl}/health/ready`, 3000))?.status ?? 0;
          seen[status] = (seen[status] ?? 0) + 1;
          return status === 200;
        },
        timeoutMs,
        100,
      );
      return true;
    } catch (err) {
      if (child.exitCode !== null || child.signalCode !== null)
        throw new Error(`${this.name} exited during start:\n${this.logTail()}`, { cause: err });
      const answering = (await probe(`${this.healthUrl}/health/live`, 3000))?.status === 200;
      if (!options.underLoad || !answering) throw err;
      this.notReadyStarts.push({ afterMs: timeoutMs, readiness: seen });
      say(
        this.run.scenario,
        `${this.name}: not ready ${timeoutMs} ms after start under load (readiness answers ${JSON.stringify(seen)}); going on`,
      );
      return false;
    }
  }

  /** restarts under load whose readiness never answered 200 in time */
  readonly notReadyStarts: { afterMs: number; readiness: Record<string, number> }[] = [];

  /** kill -9; resolves once the process is gone. */
  async kill9(): Promise<void> {
    const child = this.child;
    if (!child || !this.running) return;
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    child.kill('SIGKILL');
    await exited;
    this.run.forgetPid(child.pid!);
  }

  signal(signal: 'SIGSTOP' | 'SIGCONT'): void {
    if (this.running) this.child!.kill(signal);
  }

  /** SIGTERM (graceful), SIGKILL after 20 s. */
  async stop(): Promise<number | null> {
    const child = this.child;
    if (!child || !this.running) return child?.exitCode ?? null;
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    child.kill('SIGCONT');
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    const code = await exited;
    clearTimeout(timer);
    this.run.forgetPid(child.pid!);
    return code;
  }

  sample(): ReturnType<typeof processSample> {
    return this.pid !== undefined && isAlive(this.pid) ? processSample(this.pid) : undefined;
  }

  logTail(lines = 30): string {
    try {
      return readFileSync(this.logFile, 'utf8').trim().split('\n').slice(-lines).join('\n');
    } catch {
      return '(no log)';
    }
  }

  /** Log lines at level >= 50 (error, fatal) since the file began. */
  errorLines(): string[] {
    try {
      return readFileSync(this.logFile, 'utf8')
        .split('\n')
        .filter((l) => /"level":(50|60)/.test(l));
    } catch {
      return [];
    }
  }
}
