// Two projects: `unit` (pure logic, fakes allowed) and `integration` (the real local stack from
// scripts/stack; run in band because they share one registry, one buildkitd and one API server).
const tsJest = [
  'ts-jest',
  { useESM: true, tsconfig: { isolatedModules: true, verbatimModuleSyntax: false } }
];
const common = {
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  transform: { '^.+\\.ts$': tsJest }
};

export default {
  projects: [
    { ...common, displayName: 'unit', testMatch: ['<rootDir>/__tests__/unit/**/*.test.ts'] },
    {
      ...common,
      displayName: 'integration',
      testMatch: ['<rootDir>/__tests__/integration/**/*.test.ts']
    }
  ],
  collectCoverageFrom: ['src/lib/**/*.ts'],
  coverageReporters: ['text-summary', 'text', 'json-summary'],
  coverageThreshold: { 'src/lib/': { lines: 90 } }
};
