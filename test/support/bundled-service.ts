import { spawn, type ChildProcess } from 'node:child_process';
import { ENTRY, START_ENV } from '../chaos/support/service.js';

/** The bundled service (what `npm start` and the image run) as a child process of a test. */
export interface BundledService {
  child: ChildProcess;
  /** everything it wrote so far, stdout and stderr */
  output(): string;
  /** SIGTERM, and waits for the exit (nothing to do when it has already exited) */
  stop(): Promise<void>;
}

/** Starts `dist/bundle/main.mjs` as `npm start` does, with `env` only (and PATH). Call `ensureBuilt()` first. */
export function startBundledService(env: Record<string, string>): BundledService {
  let output = '';
  const child = spawn(process.execPath, ['--max-semi-space-size=16', ENTRY], {
    env: { PATH: process.env.PATH, ...START_ENV, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  return {
    child,
    output: () => output,
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    },
  };
}
