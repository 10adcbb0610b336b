/** Unit tests run everywhere; integration tests need root and create namespaces with a per-run prefix. */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  // test/vm/guest/*.test.js run inside the VM (test/vm/run), never under jest.
  testPathIgnorePatterns: ['/node_modules/', '/test/vm/'],
  transform: { '^.+\\.ts$': ['ts-jest', {}] },
  testTimeout: 60000,
  // test/helpers/not-run-reporter.js ends the run with the tests it skipped and why (root, a missing tool).
  reporters: ['default', '<rootDir>/test/helpers/not-run-reporter.js'],
  maxWorkers: 2,
};
