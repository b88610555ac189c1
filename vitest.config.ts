import { availableParallelism } from 'node:os';
import { configDefaults, defineConfig } from 'vitest/config';

/**
 * Tests run one after another, after the rest: those that build or run the serverless stack in the
 * repository's own folders (.esbuild/, .serverless/: two at once would overwrite each other's
 * bundles), and those whose trainers run in child processes they kill and restart (two such files
 * at once on two cores starve each other's trainers).
 */
const SERIAL = [
  'test/integration/template.test.ts',
  'test/integration/packaged.test.ts',
  'test/e2e/**/*.test.ts',
  'test/integration/recovery.test.ts',
  'test/integration/recovery-queue.test.ts',
  'test/integration/xrootd-workflow.test.ts',
];

// Vitest's default on a 2-core machine is one file at a time, yet most files spend their time
// waiting (child processes, emulators, a trainer polled): two files at a time on two cores.
const workers = Math.max(2, availableParallelism());

export default defineConfig({
  test: {
    // guards against a hang, not speed limits: two files share two cores
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
    reporters: ['default', './test/summary-reporter.ts'],
    projects: [
      {
        extends: true,
        test: {
          name: 'tests',
          include: ['test/**/*.test.ts'],
          exclude: [...configDefaults.exclude, ...SERIAL],
          maxWorkers: workers,
        },
      },
      {
        extends: true,
        test: {
          name: 'serial',
          include: SERIAL,
          maxWorkers: 1,
          fileParallelism: false,
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
