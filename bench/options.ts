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
  /** Catalog changes per second during the live scenarios (issue 10's writer mix). */
  changesPerSecond: number;
  /** Products the bulk-import scenario creates through the API, and how many admin clients send them. */
  importProducts: number;
  importConcurrency: number;
  /** The bulk import stops sending after this many seconds, created or not. */
  importSeconds: number;
  /** Logins of unknown users per second in the login-flood scenario, and the clients sending them. */
  floodRate: number;
  floodConnections: number;
  /** Which groups of scenarios run (default: all). */
  groups: ReadonlySet<ScenarioGroup>;
}

/** Groups that --scenarios selects. Live ratios need "catalog" too; the cart reference needs "cart". */
export const SCENARIO_GROUPS = ['catalog', 'cart', 'checkout', 'live', 'edits', 'flood', 'import'] as const;
export type ScenarioGroup = (typeof SCENARIO_GROUPS)[number];

export const usage = `usage: BENCH_DATABASE_URL=postgres://… npm run bench -- [options]

The database named by BENCH_DATABASE_URL is WIPED (schema public is dropped).

  --products N              catalog size (default 100000)
  --duration S              measured seconds per scenario (default 10)
  --warmup S                warm-up seconds before each scenario (default 3)
  --connections C           concurrent connections per scenario (default 20)
  --cart-users N            signed-in users with 3-line carts for GET /api/cart (default 200)
  --checkout-users N        users checking out concurrently (default 400)
  --checkout-concurrency N  checkouts in flight at once (default 20)
  --changes-per-second N    catalog changes per second in the live scenarios (default 5)
  --import-products N       products created through the API by the bulk import (default 10000)
  --import-concurrency N    admin clients sending them at once (default 4)
  --import-seconds S        stop the import after S seconds, however many are in (default 300)
  --flood-rate N            logins of unknown users per second in the login flood (default 50)
  --flood-connections N     clients sending them (default 100)
  --scenarios LIST          comma-separated groups to run (default: all):
                              catalog   scenarios 1–8 on a quiet catalog (and the reference R1, R5)
                              cart      C1 GET /api/cart, C2 add to cart (and the reference RC1, RC2)
                              checkout  C3 checkout, with the stock verification
                              live      L1–L8: scenarios 1–8 while the catalog changes
                              edits     E1, E4: scenarios 1 and 4 under one price edit a second
                              flood     F1, F4: scenarios 1 and 4 while unknown users log in at
                                        --flood-rate (BCRYPT_COST 10, no address limits), against the
                                        same reads on the same instance without the flood
                              import    B: bulk import while list and search are read
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
      'changes-per-second': { type: 'string' },
      'import-products': { type: 'string' },
      'import-concurrency': { type: 'string' },
      'import-seconds': { type: 'string' },
      'flood-rate': { type: 'string' },
      'flood-connections': { type: 'string' },
      scenarios: { type: 'string' },
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
    changesPerSecond: positiveInteger('changes-per-second', values['changes-per-second'], 5),
    importProducts: positiveInteger('import-products', values['import-products'], 10_000),
    importConcurrency: positiveInteger('import-concurrency', values['import-concurrency'], 4),
    importSeconds: positiveInteger('import-seconds', values['import-seconds'], 300),
    floodRate: positiveInteger('flood-rate', values['flood-rate'], 50),
    floodConnections: positiveInteger('flood-connections', values['flood-connections'], 100),
    groups: scenarioGroups(values.scenarios),
  };
}

function scenarioGroups(raw: string | undefined): ReadonlySet<ScenarioGroup> {
  if (raw === undefined) return new Set(SCENARIO_GROUPS);
  const names = raw.split(',').map((name) => name.trim()).filter((name) => name.length > 0);
  const unknown = names.filter((name) => !(SCENARIO_GROUPS as readonly string[]).includes(name));
  if (names.length === 0 || unknown.length > 0) {
    throw new UsageError(`--scenarios takes a comma-separated list of ${SCENARIO_GROUPS.join(', ')}; got "${raw}"`);
  }
  return new Set(names as ScenarioGroup[]);
}

