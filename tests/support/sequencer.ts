import path from 'node:path';
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
    const rank = (file: TestSpecification) => {
      const index = LONGEST_FIRST.indexOf(path.basename(file.moduleId, '.test.ts'));
      return index < 0 ? LONGEST_FIRST.length : index;
    };
    // Array.prototype.sort is stable: the rest keep vitest's own order (cached durations, else size).
    return (await super.sort(files)).sort((a, b) => rank(a) - rank(b));
  }
}
