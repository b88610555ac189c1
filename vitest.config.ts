import { availableParallelism } from 'node:os';
import { configDefaults, defineConfig } from 'vitest/config';

/**
 * Tests that build or run the serverless stack in the repository's own folders (.esbuild/,
 * .serverless/): two at once would overwrite each other's bundles, so they run one after another,
 * after the rest.
 */
const SERVERLESS = [
  'test/integration/template.test.ts',
  'test/integration/packaged.test.ts',
  'test/e2e/**/*.test.ts',
];

// Vitest's default on a 2-core machine is one file at a time, yet most files spend their time
// waiting (child processes, emulators, a trainer polled): two files at a time on two cores.
const workers = Math.max(2, availableParallelism());

export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    reporters: ['default', './test/summary-reporter.ts'],
    projects: [
      {
        extends: true,
        test: {
          name: 'tests',
          include: ['test/**/*.test.ts'],
          exclude: [...configDefaults.exclude, ...SERVERLESS],
          maxWorkers: workers,
        },
      },
      {
        extends: true,
        test: {
          name: 'serverless',
          include: SERVERLESS,
          maxWorkers: 1,
          fileParallelism: false,
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
