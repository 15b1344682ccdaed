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
  projects: [
    { ...base, displayName: 'unit', testMatch: ['<rootDir>/src/**/*.spec.ts'] },
    { ...base, displayName: 'e2e', testMatch: ['<rootDir>/test/**/*.e2e-spec.ts'], testTimeout: 60000 },
  ],
};
