import { parseArgs } from 'node:util';

export interface BenchOptions {
  databaseUrl: string;
  products: number;
  /** Seconds of measured load per scenario. */
  duration: number;
  /** Seconds of unmeasured load before each scenario. */
  warmup: number;
  connections: number;
  cartUsers: number;
  checkoutUsers: number;
  checkoutConcurrency: number;
  /** Hard limit for the whole run, in seconds: the bench stops itself after it. */
  timeLimit: number;
}

export const usage = `usage: BENCH_DATABASE_URL=postgres://… npm run bench -- [options]

The database named by BENCH_DATABASE_URL is WIPED (schema public is dropped).

  --products N              catalog size (default 100000)
  --duration S              measured seconds per scenario (default 10)
  --warmup S                warm-up seconds before each scenario (default 3)
  --connections C           concurrent connections per scenario (default 20)
  --cart-users N            signed-in users with 3-line carts for GET /api/cart (default 200)
  --checkout-users N        users checking out concurrently (default 400)
  --checkout-concurrency N  checkouts in flight at once (default 20)
  --time-limit S            abort the whole run after S seconds (default 1800)`;

function positiveInteger(name: string, raw: string | undefined, fallback: number, min = 1): number {
  if (raw === undefined) return fallback;
  const value = /^\d+$/.test(raw) ? Number(raw) : Number.NaN;
  if (!Number.isSafeInteger(value) || value < min) {
    throw new UsageError(`--${name} must be an integer ≥ ${min}, got "${raw}"`);
  }
  return value;
}

export class UsageError extends Error {}

export function parseOptions(argv: string[], env: NodeJS.ProcessEnv): BenchOptions | 'help' {
  const { values } = parseArgs({
    args: argv,
    options: {
      products: { type: 'string' },
      duration: { type: 'string' },
      warmup: { type: 'string' },
      connections: { type: 'string' },
      'cart-users': { type: 'string' },
      'checkout-users': { type: 'string' },
      'checkout-concurrency': { type: 'string' },
      'time-limit': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.help) return 'help';

  const databaseUrl = env.BENCH_DATABASE_URL;
  if (!databaseUrl || !/^postgres(ql)?:\/\/.+/.test(databaseUrl)) {
    throw new UsageError('BENCH_DATABASE_URL must be set to a postgres:// URL of a database the bench may wipe');
  }

  return {
    databaseUrl,
    products: positiveInteger('products', values.products, 100_000),
    duration: positiveInteger('duration', values.duration, 10),
    warmup: positiveInteger('warmup', values.warmup, 3, 0),
    connections: positiveInteger('connections', values.connections, 20),
    cartUsers: positiveInteger('cart-users', values['cart-users'], 200),
    checkoutUsers: positiveInteger('checkout-users', values['checkout-users'], 400),
    checkoutConcurrency: positiveInteger('checkout-concurrency', values['checkout-concurrency'], 20),
    timeLimit: positiveInteger('time-limit', values['time-limit'], 1800),
  };
}

