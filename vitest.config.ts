import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts'],
    // The run's shared server build directory (spawned-server tests).
    globalSetup: ['tests/support/global-setup.ts'],
    // Each file gets its own database; two cores, so a few files at a time.
    pool: 'forks',
    maxWorkers: 3,
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
