import path from 'node:path';
import fc from 'fast-check';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

/**
 * The files that take longest on the wall clock, longest first: they wait on compilers,
 * spawned servers, a browser or timed-out outages more than they compute. Started first,
 * their waits overlap the many short files instead of trailing the run on one worker
 * (without this, a clean checkout has no timings cached and vitest orders by file size).
 * Order only: no file depends on another having run.
 */
const LONGEST_FIRST = [
  'client-package',
  'docs.browser',
  'server',
  'server.faults',
  'outage.blackhole',
  'fuzz.http',
  'fuzz.procedures',
  'catalog.live',
  'auth.abuse.http',
  'auth.password-work.http',
  'pooler',
  'pooler.outage',
  'outage.time-limits',
  'server.replicas',
];

export class LongestFirstSequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    // TEST_FILE_ORDER_SEED=N: the files in a seeded random order (tests within a file keep theirs),
    // so the files a worker takes in turn differ, and so does which file gets which reused database
    // (tests/support/database.ts). vitest's --sequence.shuffle.files is ignored once a sequencer is
    // configured, and --sequence.shuffle also reorders the tests inside each file.
    const seed = process.env.TEST_FILE_ORDER_SEED;
    if (seed) {
      if (!/^\d+$/.test(seed)) throw new Error(`TEST_FILE_ORDER_SEED must be a whole number, got ${seed}`);
      const sorted = [...files].sort((a, b) => (a.moduleId < b.moduleId ? -1 : 1));
      // fast-check's seeded generator (the suite's property-testing library): the same seed, the same order.
      const [shuffled] = fc.sample(fc.shuffledSubarray(sorted, { minLength: sorted.length }), { seed: Number(seed), numRuns: 1 });
      return shuffled!;
    }
    const rank = (file: TestSpecification) => {
      const index = LONGEST_FIRST.indexOf(path.basename(file.moduleId, '.test.ts'));
      return index < 0 ? LONGEST_FIRST.length : index;
    };
    // Array.prototype.sort is stable: the rest keep vitest's own order (cached durations, else size).
    return (await super.sort(files)).sort((a, b) => rank(a) - rank(b));
  }
}
