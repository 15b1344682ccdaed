/**
 * Jest in native ESM mode (Nest 12 is ESM-only): ts-jest transpiles each file in isolation,
 * `.js` import suffixes are stripped, Nest's core packages are evaluated first (setupFiles).
 * Unit specs sit beside the code, e2e specs in test/.
 */
const base = {
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  transform: {
    '^.+\\.ts$': ['ts-jest', { useESM: true, tsconfig: 'tsconfig.json' }],
  },
  // @nestjs/common and @nestjs/core evaluated before each spec, for the CommonJS packages that require() them
  // (@nestjs/throttler): test/support/jest-preload.ts says why
  setupFiles: ['<rootDir>/test/support/jest-preload.ts'],
};

export default {
  // testTimeout is a global option: Jest ignores it inside `projects` (e2e hooks start whole apps).
  testTimeout: 60000,
  // A worker keeps every test file's ESM module graph it has run (jest's vm modules): without a limit
  // the e2e workers grew to 1.3-1.8 GB of RSS. One past 800 MB after a file is replaced by a fresh one
  // (e2e runs of one morning: 155-201 s with it, 187-225 s without).
  workerIdleMemoryLimit: '800MB',
  // A worker's exit after its JavaScript 'exit' event (freeing its heap) took 570-790 ms at ~1 GB,
  // past jest's 500 ms default, so jest killed it and printed "A worker process has failed to exit
  // gracefully" although nothing was left open (process.getActiveResourcesInfo() after every file).
  workerGracefulExitTimeout: 5000,
  projects: [
    { ...base, displayName: 'unit', testMatch: ['<rootDir>/src/**/*.spec.ts'] },
    { ...base, displayName: 'e2e', testMatch: ['<rootDir>/test/**/*.e2e-spec.ts'], testTimeout: 60000 },
  ],
};
