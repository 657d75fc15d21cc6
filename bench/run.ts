/**
 * `npm run bench`: builds a catalog in BENCH_DATABASE_URL, measures a reference
 * server and then the real API (production mode) on it, and reports.
 * See bench/README.md.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import type pg from 'pg';
import { CHECKOUT_STOCK, checkSearchText, connect, generateCatalog, prepareWorkload, resetSchema, serverVersion, type Workload } from './catalog.js';
import { sampleDatabaseActivity } from './db-activity.js';
import { call, drive, isMissingRoute, describeAnswer, type RequestShape } from './load.js';
import { parseOptions, usage, type BenchOptions } from './options.js';
import { buildProduction, fromSources, killAllServers, machineBusySeconds, productionCommand, projectRoot, ServerProcess, stopAllServers } from './processes.js';
import { renderReport, type BenchReport, type CheckoutReport, type CpuReport, type ScenarioReport } from './report.js';
import { cartScenario, catalogScenarios, CART_SCENARIO_NAME, CHECKOUT_SCENARIO_NAME, referenceScenarios, type Scenario } from './scenarios.js';
import { checkoutAll, createShoppers, distinctLines, FeatureUnavailable, verifyCheckout, type Shopper } from './shoppers.js';
import { evaluateTargets } from './targets.js';
import { adminToken, startPriceEdits, type PriceWriter } from './writer.js';

const RESULTS_FILE = path.join(projectRoot, 'bench/results/latest.json');
const SERVER_START_TIMEOUT_MS = 120_000;
const BUILD_TIMEOUT_MS = 180_000;
const CHECKOUT_PRODUCTS = 50;
const LINES_PER_CART = 3;

/**
 * Where the machine's CPU went while a scenario ran: per request in the server
 * and in its PostgreSQL backends (figures that barely change when other work
 * competes for the cores, unlike req/s), and how many cores everything else
 * (not the server, its backends or this process) kept busy meanwhile.
 */
function cpuUsage(server: ServerProcess) {
  const server0 = server.cpuSeconds();
  const machine0 = machineBusySeconds();
  const bench0 = process.cpuUsage();
  return {
    stop(databaseSeconds: number, requests: number, seconds: number): CpuReport {
      const serverSeconds = server.cpuSeconds() - server0;
      const bench = process.cpuUsage(bench0);
      const benchSeconds = (bench.user + bench.system) / 1e6;
      const otherSeconds = machineBusySeconds() - machine0 - serverSeconds - databaseSeconds - benchSeconds;
      const perRequest = (cpuSeconds: number) => (requests === 0 ? 0 : Math.round((cpuSeconds * 1e6) / requests) / 1000);
      return {
        serverMsPerRequest: perRequest(serverSeconds),
        databaseMsPerRequest: perRequest(databaseSeconds),
        loadGeneratorCores: Math.round((benchSeconds / seconds) * 100) / 100,
        otherCores: Math.round((Math.max(0, otherSeconds) / seconds) * 100) / 100,
      };
    },
  };
}

const log = (message: string) => process.stderr.write(`[bench] ${message}\n`);

/** Where a measurement's side data comes from: a connection used only for pg_stat_activity samples. */
interface Monitor {
  activity: pg.Client;
}

async function measure(server: ServerProcess, scenario: Scenario, options: BenchOptions, monitor: Monitor): Promise<ScenarioReport> {
  const probeRequest = scenario.shape.next();
  const report: ScenarioReport = {
    id: scenario.id,
    name: scenario.name,
    request: `${scenario.shape.method} ${probeRequest.path}`,
    status: 'measured',
    ...(scenario.referenceId ? { referenceId: scenario.referenceId } : {}),
  };
  const probe = await call(server.baseUrl, {
    method: scenario.shape.method,
    path: probeRequest.path,
    token: probeRequest.headers?.authorization?.replace(/^Bearer /, ''),
  });
  if (isMissingRoute(probe)) {
    log(`${scenario.id}. ${scenario.name}: unavailable (${describeAnswer(probe)})`);
    return { ...report, status: 'unavailable', reason: `not implemented yet: ${describeAnswer(probe)}` };
  }
  if (options.warmup > 0) await drive(server.baseUrl, scenario.shape, options.connections, options.warmup);
  const rss = server.sampleRss();
  const activity = sampleDatabaseActivity(monitor.activity);
  const usage = cpuUsage(server);
  const result = await drive(server.baseUrl, scenario.shape, options.connections, options.duration);
  const rssMb = rss.stop();
  const database = await activity.stop();
  const cpu = usage.stop(database.cpuSeconds, result.requests, result.seconds);
  log(`${scenario.id}. ${scenario.name}: ${result.reqPerSec} req/s, p99 ${result.p99Ms} ms, ${result.non2xx} non-2xx, ${result.errors} errors`);
  return { ...report, result, rssMb, database, cpu };
}

/** Created by the API at startup (ADMIN_USERNAME/ADMIN_PASSWORD) for the price edits. */
const ADMIN = { username: 'bench_admin', password: randomBytes(18).toString('base64url') };

function apiEnvironment(databaseUrl: string): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    NODE_ENV: 'production',
    DATABASE_URL: databaseUrl,
    JWT_SECRET: randomBytes(48).toString('base64url'),
    SEED_DEMO_DATA: 'false',
    LOG_LEVEL: 'warn',
    // The bench signs up hundreds of users and logs in from one address: no abuse limits.
    LOGIN_RATE_LIMIT: '0',
    LOGIN_ADDRESS_RATE_LIMIT: '0',
    SIGNUP_RATE_LIMIT: '0',
    BCRYPT_COST: '4',
    ADMIN_USERNAME: ADMIN.username,
    ADMIN_PASSWORD: ADMIN.password,
  };
}

/**
 * A freshly started server runs its first requests unoptimised (JIT, lazy
 * initialisation, heap growth); without this, whichever scenario runs first
 * would pay for it. Cycles through every scenario's requests.
 */
async function warmUpServer(server: ServerProcess, scenarios: Scenario[], options: BenchOptions): Promise<void> {
  if (options.warmup === 0) return;
  let next = 0;
  const mixed: RequestShape = { method: 'GET', next: () => scenarios[next++ % scenarios.length]!.shape.next() };
  await drive(server.baseUrl, mixed, options.connections, options.warmup * scenarios.length);
}

async function measureReference(options: BenchOptions, workload: Workload, monitor: Monitor): Promise<ScenarioReport[]> {
  log('starting the reference server');
  const reference = await ServerProcess.start(
    'reference server',
    fromSources('bench/reference-server.ts'),
    { PATH: process.env.PATH, HOME: process.env.HOME, NODE_ENV: 'production', DATABASE_URL: options.databaseUrl },
    '/ready',
    SERVER_START_TIMEOUT_MS,
  );
  try {
    const scenarios = referenceScenarios(workload);
    await warmUpServer(reference, scenarios, options);
    const reports: ScenarioReport[] = [];
    for (const scenario of scenarios) reports.push(await measure(reference, scenario, options, monitor));
    return reports;
  } finally {
    await reference.stop();
  }
}

interface ApiMeasurements {
  scenarios: ScenarioReport[];
  checkout: CheckoutReport;
  underWrites: ScenarioReport[];
  maxRssMb: number;
  serverLog: BenchReport['serverLog'];
}

async function prepareShoppers(api: ServerProcess, options: BenchOptions, workload: Workload): Promise<{ cart: Shopper[]; checkout: Shopper[] } | string> {
  log(`signing up ${options.cartUsers + options.checkoutUsers} users and filling their carts`);
  try {
    const cart = await createShoppers(api.baseUrl, 'bench_cart_', options.cartUsers, (i) => distinctLines(workload.cartProductIds, i, LINES_PER_CART));
    const checkout = await createShoppers(api.baseUrl, 'bench_checkout_', options.checkoutUsers, (i) =>
      distinctLines(workload.checkoutProductIds, i, LINES_PER_CART),
    );
    return { cart, checkout };
  } catch (error) {
    if (error instanceof FeatureUnavailable) return `not implemented yet: ${error.message}`;
    throw error;
  }
}

async function measureApi(client: pg.Client, options: BenchOptions, workload: Workload, monitor: Monitor): Promise<ApiMeasurements> {
  log('building the API (npm run build)');
  await buildProduction(BUILD_TIMEOUT_MS);
  const command = productionCommand();
  log(`starting the API as \`npm run start:prod\` does, with NODE_ENV=production: node ${command.slice(1).join(' ')}`);
  const api = await ServerProcess.start('API', command, apiEnvironment(options.databaseUrl), '/ready', SERVER_START_TIMEOUT_MS);
  const lifetimeRss = api.sampleRss(500);
  try {
    const catalog = catalogScenarios(workload, options.products);
    await warmUpServer(api, catalog, options);
    const scenarios: ScenarioReport[] = [];
    for (const scenario of catalog) scenarios.push(await measure(api, scenario, options, monitor));

    const checkout: CheckoutReport = {
      id: '9',
      name: CHECKOUT_SCENARIO_NAME,
      request: 'POST /api/checkout',
      status: 'unavailable',
      shoppers: options.checkoutUsers,
      concurrency: options.checkoutConcurrency,
    };
    const shoppers = await prepareShoppers(api, options, workload);
    if (typeof shoppers === 'string') {
      log(`cart and checkout: ${shoppers}`);
      scenarios.push({ id: '8', name: CART_SCENARIO_NAME, request: 'GET /api/cart', status: 'unavailable', reason: shoppers });
      checkout.reason = shoppers;
    } else {
      scenarios.push(await measure(api, cartScenario(shoppers.cart.map((s) => s.token)), options, monitor));

      log(`checking out ${shoppers.checkout.length} carts, ${options.checkoutConcurrency} at a time`);
      const rss = api.sampleRss();
      const activity = sampleDatabaseActivity(monitor.activity);
      const usage = cpuUsage(api);
      const run = await checkoutAll(api.baseUrl, shoppers.checkout, options.checkoutConcurrency);
      checkout.rssMb = rss.stop();
      checkout.database = await activity.stop();
      checkout.cpu = usage.stop(checkout.database.cpuSeconds, run.result.requests, run.result.seconds);
      if (isMissingRouteOnly(run.result.statusCodes)) {
        checkout.reason = 'not implemented yet: POST /api/checkout answered 404';
      } else {
        checkout.status = 'measured';
        checkout.result = run.result;
        checkout.ordersPerSec = run.ordersPerSec;
        checkout.serverErrors = run.serverErrors;
        checkout.verification = await verifyCheckout(client, run, workload.checkoutProductIds, CHECKOUT_STOCK);
        log(`checkout: ${run.ordersPerSec} orders/s, statuses ${JSON.stringify(run.result.statusCodes)}, verification ${checkout.verification.ok ? 'OK' : 'FAILED'}`);
      }
    }
    // Last: a storm of recomputations may keep PostgreSQL busy after the measurement ends.
    const underWrites = await measureUnderWrites(api, catalog, workload, options, monitor);
    return { scenarios, checkout, underWrites, maxRssMb: lifetimeRss.stop(), serverLog: { lines: api.logLineCount, first: api.firstLogLines } };
  } finally {
    lifetimeRss.stop();
    await api.stop();
  }
}

const EDITS_PER_SECOND = 1;

/**
 * Not in issue 4: the list and the common-word search again while an admin
 * edits a price once a second. Each edit invalidates whatever the API caches
 * per catalog version, so this shows what the cached scenarios cost when the
 * catalog changes.
 */
async function measureUnderWrites(api: ServerProcess, catalog: Scenario[], workload: Workload, options: BenchOptions, monitor: Monitor): Promise<ScenarioReport[]> {
  const edited = workload.detailIds[0];
  if (!edited) return [];
  const token = await adminToken(api.baseUrl, ADMIN.username, ADMIN.password);
  const reports: ScenarioReport[] = [];
  const repeated = [
    ['10', catalog.find((s) => s.id === '1')],
    ['11', catalog.find((s) => s.id === '4')],
  ] as const;
  for (const [id, base] of repeated) {
    if (!base) continue;
    const scenario: Scenario = { id, name: `${base.name}, ${EDITS_PER_SECOND} price edit/s`, shape: base.shape };
    let writer: PriceWriter;
    try {
      writer = await startPriceEdits(api.baseUrl, token, edited, EDITS_PER_SECOND);
    } catch (error) {
      if (!(error instanceof FeatureUnavailable)) throw error;
      reports.push({ id, name: scenario.name, request: `GET ${base.shape.next().path}`, status: 'unavailable', reason: `not implemented yet: ${error.message}` });
      continue;
    }
    const report = await measure(api, scenario, options, monitor).finally(() => writer.stop());
    reports.push({ ...report, writes: await writer.stop() });
  }
  return reports;
}

/** Checkout is the only POST measured; when every answer is a 404 the route is not there yet. */
const isMissingRouteOnly = (statusCodes: Record<string, number>) => Object.keys(statusCodes).length === 1 && statusCodes['404'] !== undefined;

const cpuMs = (report: ScenarioReport) => (report.cpu ? report.cpu.serverMsPerRequest + report.cpu.databaseMsPerRequest : 0);
const ratio = (part: number, whole: number) => Math.round((part / whole) * 1000) / 1000;

function withReferenceRatios(scenarios: ScenarioReport[], reference: ScenarioReport[]): ScenarioReport[] {
  return scenarios.map((scenario) => {
    const floor = reference.find((r) => r.id === scenario.referenceId);
    if (!scenario.result || !floor?.result || floor.result.reqPerSec === 0) return scenario;
    return {
      ...scenario,
      ratioToReference: ratio(scenario.result.reqPerSec, floor.result.reqPerSec),
      ...(cpuMs(scenario) > 0 ? { cpuRatioToReference: ratio(cpuMs(floor), cpuMs(scenario)) } : {}),
    };
  });
}

function measuredCode(): BenchReport['app'] {
  const git = (...args: string[]) => execFileSync('git', args, { cwd: projectRoot, encoding: 'utf8' }).trim();
  try {
    return { commit: git('rev-parse', '--short', 'HEAD'), uncommittedChanges: git('status', '--porcelain', '--', 'src').length > 0 };
  } catch {
    return { commit: 'unknown', uncommittedChanges: false };
  }
}

async function bench(options: BenchOptions): Promise<BenchReport> {
  const client = await connect(options.databaseUrl);
  const monitor: Monitor = { activity: await connect(options.databaseUrl) };
  try {
    log(`wiping ${new URL(options.databaseUrl).pathname.slice(1)} and applying the app's migrations`);
    await resetSchema(client, options.databaseUrl);
    const started = performance.now();
    await generateCatalog(client, options.products, log);
    const generationSeconds = Math.round((performance.now() - started) / 100) / 10;
    await checkSearchText(client);
    const workload = await prepareWorkload(client, CHECKOUT_PRODUCTS);

    const reference = await measureReference(options, workload, monitor);
    const api = await measureApi(client, options, workload, monitor);
    const scenarios = withReferenceRatios(api.scenarios, reference);
    const catalogOnly = scenarios.filter((s) => s.referenceId !== undefined);

    return {
      generatedAt: new Date().toISOString(),
      app: measuredCode(),
      machine: {
        cores: os.availableParallelism(),
        cpuModel: os.cpus()[0]?.model.trim() ?? 'unknown',
        memoryMb: Math.round(os.totalmem() / 1024 / 1024),
        node: process.versions.node,
        postgres: await serverVersion(client),
        note: 'load generator, server and PostgreSQL share these cores',
      },
      catalog: {
        products: options.products,
        outOfStock: workload.outOfStock,
        generationSeconds,
        category: { name: workload.category, products: workload.categorySize },
        searches: { common: workload.commonWord, rare: workload.rareWord, prefix: workload.prefix },
      },
      settings: { durationSeconds: options.duration, warmupSeconds: options.warmup, connections: options.connections },
      reference,
      scenarios,
      checkout: api.checkout,
      underWrites: api.underWrites,
      maxServerRssMb: Math.round(api.maxRssMb),
      serverLog: api.serverLog,
      targets: evaluateTargets(options.products, catalogOnly, api.checkout, api.maxRssMb),
    };
  } finally {
    await client.end();
    await monitor.activity.end();
  }
}

async function main(): Promise<number> {
  let options: BenchOptions | 'help';
  try {
    options = parseOptions(process.argv.slice(2), process.env);
  } catch (error) {
    console.error(error instanceof Error ? error.message : error);
    console.error(usage);
    return 2;
  }
  if (options === 'help') {
    console.log(usage);
    return 0;
  }

  const limit = options.timeLimit;
  const watchdog = setTimeout(() => {
    console.error(`[bench] time limit of ${limit} s reached: stopping`);
    killAllServers();
    process.exit(3);
  }, limit * 1000);
  watchdog.unref();

  const report = await bench(options);
  mkdirSync(path.dirname(RESULTS_FILE), { recursive: true });
  writeFileSync(RESULTS_FILE, `${JSON.stringify(report, null, 2)}\n`);
  console.log(renderReport(report));
  console.log(`\nJSON: ${path.relative(process.cwd(), RESULTS_FILE)}`);
  // A broken invariant is a bug, not a slow result: make it fail the command.
  return report.checkout.verification && !report.checkout.verification.ok ? 1 : 0;
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    killAllServers();
    process.exit(130);
  });
}
process.on('exit', killAllServers);

main().then(
  (code) => (process.exitCode = code),
  async (error: unknown) => {
    console.error('[bench] failed:', error);
    await stopAllServers();
    process.exitCode = 1;
  },
);
