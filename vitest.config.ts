import { defineConfig } from 'vitest/config';
import { LongestFirstSequencer } from './tests/support/sequencer.js';

export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts'],
    // The run's shared server build directory (spawned-server tests).
    globalSetup: ['tests/support/global-setup.ts'],
    // Each file gets its own database and its own app; two cores, so a few files at a time. Three, not
    // four: the suite is CPU-bound (spawned servers, a browser, compilers), and a fourth worker added
    // ~10 % of CPU in contention (137 against 124 busy core-seconds) for no shorter run.
    pool: 'forks',
    maxWorkers: 3,
    // A worker keeps the modules it has loaded from one file to the next: importing the app
    // (ORM, tRPC, zod schemas) per file was a third of the suite's CPU time. Safe because no
    // test mocks a module, module-level state is only read as deltas (metrics counters), and
    // per-file hooks are registered by the test files themselves (useSpawnedServers).
    isolate: false,
    sequence: { sequencer: LongestFirstSequencer },
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
