/** Unit tests run everywhere; integration tests need root and create namespaces with a per-run prefix. */

/**
 * Tests that bound latencies under a load they make themselves run alone, after the others (NETMGR_JEST_ALONE=1,
 * `--runInBand`): on a 2-core machine a second test file running beside them is load they do not measure.
 */
const ALONE = ['/test/integration/daemon-fuzz.test.ts'];
const alone = process.env.NETMGR_JEST_ALONE === '1';

module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: alone ? ALONE.map((p) => `<rootDir>${p}`) : ['**/*.test.ts'],
  // test/vm/guest/*.test.js run inside the VM (test/vm/run), never under jest.
  testPathIgnorePatterns: ['/node_modules/', '/test/vm/', ...(alone ? [] : ALONE)],
  transform: { '^.+\\.ts$': ['ts-jest', {}] },
  testTimeout: 60000,
  // test/helpers/not-run-reporter.js ends the run with the tests it skipped and why (root, a missing tool).
  reporters: ['default', '<rootDir>/test/helpers/not-run-reporter.js'],
  maxWorkers: 2,
};
