/**
 * Two projects: `unit` (pure, replayed transcripts) and `integration` (the real stack:
 * pcsclite -> pcscd -> vpcd -> jCardSim). Native ESM because @noble/* and asn1js ship ESM only.
 * @type {import('jest').Config}
 */
const tsJest = ['ts-jest', { useESM: true, tsconfig: 'tsconfig.json', diagnostics: { warnOnly: false } }];
const common = {
  extensionsToTreatAsEsm: ['.ts'],
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  transform: { '^.+\\.ts$': tsJest },
  testEnvironment: 'node',
};
export default {
  projects: [
    { ...common, displayName: 'unit', testMatch: ['<rootDir>/test/unit/**/*.test.ts'] },
    {
      ...common,
      displayName: 'integration',
      testMatch: ['<rootDir>/test/integration/**/*.test.ts'],
      // The CLI tests run dist/: rebuild it first if a source changed (quick when nothing did).
      globalSetup: '<rootDir>/test/integration/support/build-dist.js',
      setupFilesAfterEnv: ['<rootDir>/test/integration/support/timeouts.ts'],
    },
  ],
};
