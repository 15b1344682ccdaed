import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { appendFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { idle, processStartTime } from './proc.js';

export const CHAOS_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const REPO_ROOT = resolve(CHAOS_DIR, '../..');
export const RESULTS_DIR = process.env.CHAOS_RESULTS_DIR ? resolve(process.env.CHAOS_RESULTS_DIR) : join(CHAOS_DIR, 'results');

/** Progress lines on stderr, straight (Jest buffers console.log). */
export function say(scope: string, message: string): void {
  process.stderr.write(`[chaos ${new Date().toISOString().slice(11, 23)} ${scope}] ${message}\n`);
}

/**
 * One scenario's run: a unique id, a scratch directory, a log directory, and the cleanup of
 * everything it starts. Every process, cluster and directory is registered with a detached
 * watchdog (reaper.mjs) before or as it is created, so that nothing is left behind even if this
 * process is killed (Ctrl-C, kill -9, a Jest timeout); on a normal end `close()` stops everything
 * in reverse order itself and the watchdog finds nothing left to do.
 */
export class ChaosRun {
  readonly id = randomBytes(4).toString('hex');
  readonly scratch: string;
  readonly logDir: string;
  private readonly registry: string;
  private readonly cleanups: { name: string; fn: () => Promise<void> }[] = [];
  private reaper?: ChildProcess;
  private closed = false;

  private constructor(readonly scenario: string) {
    this.scratch = mkdtempSync(join(tmpdir(), `chaos-${scenario}-`));
    this.registry = join(this.scratch, 'registry.jsonl');
    this.logDir = join(RESULTS_DIR, 'logs', scenario);
    rmSync(this.logDir, { recursive: true, force: true });
    mkdirSync(this.logDir, { recursive: true });
  }

  static async start(scenario: string): Promise<ChaosRun> {
    const run = new ChaosRun(scenario);
    await run.startReaper();
    run.trackDir(run.scratch);
    return run;
  }

  private async startReaper(): Promise<void> {
    // with the parent's pid: in a Jest worker, the runner that owns the worker going away ends the worker too
    const child = spawn(
      process.execPath,
      [join(CHAOS_DIR, 'support', 'reaper.mjs'), String(process.pid), this.registry, String(process.ppid)],
      {
        detached: true,
        stdio: ['pipe', 'pipe', 'inherit'],
      },
    );
    this.reaper = child;
    await new Promise<void>((resolveReady, reject) => {
      const timer = setTimeout(() => reject(new Error('reaper did not start')), 10_000);
      child.stdout.once('data', () => {
        clearTimeout(timer);
        resolveReady();
      });
      child.once('exit', (code) => reject(new Error(`reaper exited with ${code}`)));
    });
    child.stdout.destroy();
    child.unref();
  }

  private write(entry: Record<string, unknown>): void {
    appendFileSync(this.registry, `${JSON.stringify(entry)}\n`);
  }

  trackPid(pid: number): void {
    if (this.closed) {
      // started after the run was closed (a start racing a failure): it must not outlive the run
      process.kill(pid, 'SIGKILL');
      throw new Error(`process ${pid} started after the run closed; killed`);
    }
    this.write({ op: 'pid', pid, start: processStartTime(pid) });
  }

  forgetPid(pid: number): void {
    this.write({ op: 'forget', key: `pid:${pid}` });
  }

  trackDir(path: string): void {
    this.write({ op: 'dir', path });
  }

  trackPostgres(entry: { dataDir: string; clusterName: string; pgCtl: string; asPostgres: boolean }): void {
    this.write({ op: 'pg', ...entry });
  }

  forgetPostgres(dataDir: string): void {
    this.write({ op: 'forget', key: `pg:${dataDir}` });
  }

  /** Registers a cleanup step; steps run in reverse order of registration. */
  defer(name: string, fn: () => Promise<void>): void {
    this.cleanups.push({ name, fn });
  }

  /** Stops everything this run started (also after a failure); safe to call twice. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const { name, fn } of this.cleanups.reverse()) {
      try {
        await fn();
      } catch (err) {
        say(this.scenario, `cleanup "${name}" failed: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
    // the watchdog removes the scratch directory and anything a failed step left behind, then exits
    const reaper = this.reaper;
    if (reaper && reaper.exitCode === null) {
      const exited = new Promise<void>((r) => reaper.once('exit', () => r()));
      reaper.stdin!.end();
      await Promise.race([exited, idle(30_000)]);
    }
  }
}
