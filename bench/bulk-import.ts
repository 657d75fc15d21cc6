import { performance } from 'node:perf_hooks';
import { call, describeAnswer, inParallel } from './load.js';
import { newProductBody, uniqueWordMaker } from './writer.js';

export interface ImportRun {
  requested: number;
  /** Set when the time limit stopped the import before every product was sent. */
  stoppedAfterSeconds?: number;
  created: number;
  failed: number;
  failures: string[];
  seconds: number;
  productsPerSec: number;
}

const KEPT_FAILURES = 20;

/**
 * Creates `count` products through POST /api/products as fast as the API
 * accepts them: `concurrency` admin clients, each sending its next product as
 * soon as the previous one is answered, until all are sent or `limitSeconds`
 * have passed (then the clients send no more and the run says so). Every
 * failure is counted and the first few kept for the report.
 */
export async function bulkImport(baseUrl: string, token: string, count: number, concurrency: number, limitSeconds: number): Promise<ImportRun> {
  const nextWord = uniqueWordMaker('zqbulk');
  const run: ImportRun = { requested: count, created: 0, failed: 0, failures: [], seconds: 0, productsPerSec: 0 };
  const started = performance.now();
  const deadline = started + limitSeconds * 1000;
  await inParallel(count, concurrency, async (index) => {
    if (performance.now() > deadline) {
      run.stoppedAfterSeconds = limitSeconds;
      return;
    }
    const answer = await call(baseUrl, { method: 'POST', path: '/api/products', token, body: newProductBody(index, nextWord()) }).catch(
      (error: unknown) => String(error),
    );
    if (typeof answer !== 'string' && answer.status === 201) {
      run.created += 1;
      return;
    }
    run.failed += 1;
    if (run.failures.length < KEPT_FAILURES) run.failures.push(typeof answer === 'string' ? answer : describeAnswer(answer));
  });
  run.seconds = Math.round((performance.now() - started) / 10) / 100;
  run.productsPerSec = Math.round((run.created / run.seconds) * 10) / 10;
  return run;
}
