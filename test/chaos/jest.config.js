/**
 * The chaos suite (test/chaos/README.md): real processes, faults injected by the suite itself.
 * `npm run test:chaos` runs *.chaos-spec.ts, `npm run test:soak` runs *.soak-spec.ts, one file at a
 * time (maxWorkers 1: each scenario owns the machine while it runs).
 */
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const rootDir = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const base = {
  rootDir,
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  transform: {
    '^.+\\.ts$': ['ts-jest', { useESM: true, tsconfig: 'tsconfig.json' }],
  },
};

export default {
  rootDir,
  testTimeout: 15 * 60 * 1000,
  // one file at a time in a worker that is replaced when it has grown: Jest's ESM module registries
  // are not all released between files, and a runner that swells slows every scenario after it
  maxWorkers: 1,
  workerIdleMemoryLimit: '600MB',
  projects: [
    { ...base, displayName: 'chaos', testMatch: ['<rootDir>/test/chaos/**/*.chaos-spec.ts'] },
    { ...base, displayName: 'soak', testMatch: ['<rootDir>/test/chaos/**/*.soak-spec.ts'] },
  ],
};
