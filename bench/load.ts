import { performance } from 'node:perf_hooks';
import autocannon from 'autocannon';

export interface LoadResult {
  requests: number;
  seconds: number;
  reqPerSec: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  non2xx: number;
  /** Connection errors and timeouts: requests that got no HTTP answer at all. */
  errors: number;
  statusCodes: Record<string, number>;
}

/** What one request of a scenario looks like; `next` is called for every request sent. */
export interface RequestShape {
  method: 'GET' | 'POST';
  next: () => { path: string; headers?: Record<string, string>; body?: string };
}

function percentile(sorted: number[], fraction: number): number {
  if (sorted.length === 0) return 0;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil(fraction * sorted.length) - 1));
  return sorted[index] ?? 0;
}

const round2 = (value: number) => Math.round(value * 100) / 100;

export function summarize(latencies: number[], seconds: number, statusCodes: Record<string, number>, errors: number): LoadResult {
  const sorted = [...latencies].sort((a, b) => a - b);
  const non2xx = Object.entries(statusCodes)
    .filter(([status]) => !status.startsWith('2'))
    .reduce((sum, [, count]) => sum + count, 0);
  return {
    requests: latencies.length,
    seconds: round2(seconds),
    reqPerSec: round2(latencies.length / seconds),
    p50Ms: round2(percentile(sorted, 0.5)),
    p99Ms: round2(percentile(sorted, 0.99)),
    maxMs: round2(sorted.at(-1) ?? 0),
    non2xx,
    errors,
    statusCodes,
  };
}

/**
 * Closed-loop load with autocannon: `connections` clients, each sending its next
 * request as soon as the previous one is answered (or, with `ratePerSecond`, when
 * the overall rate allows), for `seconds` (or, with
 * `until`, from now until that promise settles). Latencies are taken from
 * autocannon's per-response timings (sub-millisecond), for every response
 * whatever its status.
 */
export async function drive(
  baseUrl: string,
  shape: RequestShape,
  connections: number,
  seconds: number | { until: Promise<unknown> },
  /** Open loop instead: at most this many requests a second over all connections, however fast they are answered. */
  ratePerSecond?: number,
): Promise<LoadResult> {
  const latencies: number[] = [];
  const statusCodes: Record<string, number> = {};
  let started = 0;

  const options: autocannon.Options = {
    url: baseUrl,
    connections,
    // Open-ended runs are stopped when `until` settles; the day is only a bound.
    duration: typeof seconds === 'number' ? seconds : 86_400,
    timeout: 10,
    ...(ratePerSecond === undefined ? {} : { overallRate: ratePerSecond }),
    requests: [
      {
        method: shape.method,
        setupRequest: (request) => {
          const { path, headers, body } = shape.next();
          if (body === undefined) return { ...request, path, headers: { ...request.headers, ...headers } };
          return { ...request, path, body, headers: { ...request.headers, 'content-type': 'application/json', ...headers } };
        },
      },
    ],
  };
  const finished = Promise.withResolvers<autocannon.Result>();
  const instance = autocannon(options, (error: unknown, result: autocannon.Result) =>
    error ? finished.reject(error) : finished.resolve(result),
  );
  instance.on('start', () => (started = performance.now()));
  if (typeof seconds !== 'number') {
    const stop = () => instance.stop();
    seconds.until.then(stop, stop);
  }
  instance.on('response', (_client, statusCode, _bytes, responseTime) => {
    latencies.push(responseTime);
    statusCodes[statusCode] = (statusCodes[statusCode] ?? 0) + 1;
  });
  const result = await finished.promise;
  const elapsed = (performance.now() - (started || performance.now())) / 1000;
  return summarize(latencies, elapsed || result.duration, statusCodes, result.errors);
}

export interface Call {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  path: string;
  token?: string;
  body?: unknown;
}

export interface Answer {
  status: number;
  body: unknown;
  latencyMs: number;
}

export async function call(baseUrl: string, { method, path, token, body }: Call): Promise<Answer> {
  const headers: Record<string, string> = {};
  if (token) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const started = performance.now();
  const response = await fetch(baseUrl + path, {
    method,
    headers,
    body: body === undefined ? null : JSON.stringify(body),
    signal: AbortSignal.timeout(30_000),
  });
  const text = await response.text();
  const latencyMs = performance.now() - started;
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // Not JSON: keep the text for the report.
  }
  return { status: response.status, body: parsed, latencyMs };
}

/** Runs `task` for every index 0…count-1 with at most `concurrency` in flight. */
export async function inParallel<T>(count: number, concurrency: number, task: (index: number) => Promise<T>): Promise<T[]> {
  const results = new Array<T>(count);
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const index = next++;
      results[index] = await task(index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  return results;
}

/** The REST layer answers an unknown route with this; a feature not built yet looks like that. */
export function isMissingRoute(answer: Answer): boolean {
  if (answer.status === 405) return true;
  if (answer.status !== 404) return false;
  const error = (answer.body as { error?: { message?: unknown } } | null)?.error;
  return error?.message === 'Route not found';
}

export function describeAnswer(answer: Answer): string {
  const error = (answer.body as { error?: { code?: unknown; message?: unknown } } | null)?.error;
  return error ? `${answer.status} ${String(error.code)}: ${String(error.message)}` : `${answer.status}`;
}
