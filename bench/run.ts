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
import { call, drive, inParallel, isMissingRoute, describeAnswer, type LoadResult, type RequestShape } from './load.js';
import { parseOptions, usage, type BenchOptions } from './options.js';
import { buildProduction, fromSources, killAllServers, machineBusySeconds, productionCommand, projectRoot, ServerProcess, stopAllServers } from './processes.js';
import { bulkImport } from './bulk-import.js';
import { FLOOD_BCRYPT_COST, loginFlood } from './login-flood.js';
import {
  describeWrites,
  renderReport,
  type BenchReport,
  type CheckoutReport,
  type CpuReport,
  type FloodReport,
  type ImportReport,
  type LiveReport,
  type ScenarioReport,
} from './report.js';
import {
  addToCartScenario,
  cartScenario,
  catalogScenarios,
  CART_SCENARIO_NAME,
  CHECKOUT_SCENARIO_NAME,
  liveScenario,
  referenceScenarios,
  type AddingShopper,
  type Scenario,
} from './scenarios.js';
import { checkoutAll, createShoppers, distinctLines, FeatureUnavailable, verifyCheckout, type Shopper } from './shoppers.js';
import { evaluateTargets } from './targets.js';
import { addLiveWrites, adminToken, CatalogWriter, noLiveWrites, startPriceEdits, type OneUnitShopper, type PriceWriter } from './writer.js';

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
    body: probeRequest.body === undefined ? undefined : JSON.parse(probeRequest.body),
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
/** Shared by the API instances and the reference server, which verifies the same tokens. */
const JWT_SECRET = randomBytes(48).toString('base64url');

function apiEnvironment(databaseUrl: string): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    NODE_ENV: 'production',
    DATABASE_URL: databaseUrl,
    JWT_SECRET,
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

/** The reference server, with the API's JWT secret so it can verify the shoppers' tokens. */
function startReference(options: BenchOptions): Promise<ServerProcess> {
  log('starting the reference server');
  return ServerProcess.start(
    'reference server',
    fromSources('bench/reference-server.ts'),
    { PATH: process.env.PATH, HOME: process.env.HOME, NODE_ENV: 'production', DATABASE_URL: options.databaseUrl, JWT_SECRET },
    '/ready',
    SERVER_START_TIMEOUT_MS,
  );
}

async function measureOn(server: ServerProcess, scenarios: Scenario[], options: BenchOptions, monitor: Monitor, warmUp: boolean): Promise<ScenarioReport[]> {
  if (warmUp) await warmUpServer(server, scenarios, options);
  const reports: ScenarioReport[] = [];
  for (const scenario of scenarios) reports.push(await measure(server, scenario, options, monitor));
  return reports;
}

/** R1 and R5: the reference's floor for the catalog scenarios. */
async function measureReferenceCatalog(options: BenchOptions, workload: Workload, monitor: Monitor): Promise<ScenarioReport[]> {
  const reference = await startReference(options);
  try {
    return await measureOn(reference, referenceScenarios(workload), options, monitor, true);
  } finally {
    await reference.stop();
  }
}

/** RC1 and RC2: the reference's floor for the cart, on the shoppers the API signed up (their carts reset like before C2). */
async function measureReferenceCart(client: pg.Client, options: BenchOptions, shoppers: Shoppers, monitor: Monitor): Promise<ScenarioReport[]> {
  const reference = await startReference(options);
  try {
    const reports = [await measure(reference, cartScenario(shoppers.cart.map((s) => s.token), 'RC1', undefined), options, monitor)];
    await emptyCarts(client, ADD_TO_CART_PREFIX);
    reports.push(await measure(reference, addToCartScenario(shoppers.adding, 'RC2', undefined), options, monitor));
    return reports;
  } finally {
    await reference.stop();
  }
}

interface Shoppers {
  /** 3-line carts, read by C1/RC1. */
  cart: Shopper[];
  /** Empty carts, filled by C2/RC2 with units of their 3 products. */
  adding: AddingShopper[];
  /** 3-line carts, checked out once each by C3. */
  checkout: Shopper[];
  /** One unit of their own product each: the live writer's checkouts. */
  oneUnit: OneUnitShopper[];
}

const ADD_TO_CART_PREFIX = 'bench_add_';
/** Enough that the reference's add-to-cart run (~3,000/s × 13 s) keeps every line far below 99 units. */
const ADD_TO_CART_USERS = 500;

async function prepareShoppers(api: ServerProcess, options: BenchOptions, workload: Workload): Promise<Shoppers | string> {
  const { groups } = options;
  const counts = {
    cart: groups.has('cart') ? options.cartUsers : 0,
    adding: groups.has('cart') ? ADD_TO_CART_USERS : 0,
    checkout: groups.has('checkout') ? options.checkoutUsers : 0,
    oneUnit: groups.has('live') ? workload.live.checkoutIds.length : 0,
  };
  log(`signing up ${counts.cart + counts.adding + counts.checkout + counts.oneUnit} users and filling their carts`);
  try {
    const cart = await createShoppers(api.baseUrl, 'bench_cart_', counts.cart, (i) => distinctLines(workload.cartProductIds, i, LINES_PER_CART));
    const adding = await createShoppers(api.baseUrl, ADD_TO_CART_PREFIX, counts.adding, () => []);
    // A cart opens on first use; opened now, neither the API nor the reference opens one during C2/RC2.
    await inParallel(adding.length, 10, (i) => call(api.baseUrl, { method: 'GET', path: '/api/cart', token: adding[i]!.token }));
    const checkout = await createShoppers(api.baseUrl, 'bench_checkout_', counts.checkout, (i) =>
      distinctLines(workload.checkoutProductIds, i, LINES_PER_CART),
    );
    const oneUnit = await createShoppers(api.baseUrl, 'bench_live_', counts.oneUnit, (i) => [{ productId: workload.live.checkoutIds[i]!, quantity: 1 }]);
    return {
      cart,
      adding: adding.map((shopper, i) => ({ token: shopper.token, productIds: distinctLines(workload.addToCartProductIds, i, LINES_PER_CART).map((l) => l.productId) })),
      checkout,
      oneUnit: oneUnit.map((shopper) => ({ token: shopper.token, productId: shopper.lines[0]!.productId })),
    };
  } catch (error) {
    if (error instanceof FeatureUnavailable) return `not implemented yet: ${error.message}`;
    throw error;
  }
}

/** Removes every line of the carts of users named `prefix…`, so an add-to-cart run starts from empty carts. */
async function emptyCarts(client: pg.Client, prefix: string): Promise<void> {
  await client.query(
    `delete from cart_item where cart_id in (select c.id from cart c join users u on u.id = c.user_id where u.username like $1 and c.status = 'active')`,
    [`${prefix}%`],
  );
}

interface ApiMeasurements {
  scenarios: ScenarioReport[];
  cart: ScenarioReport[];
  checkout: CheckoutReport;
  live?: LiveReport;
  underWrites: ScenarioReport[];
  bulkImport?: ImportReport;
  loginFlood?: FloodReport;
  shoppers?: Shoppers;
  maxRssMb: number;
  serverLog: BenchReport['serverLog'];
}

async function measureCheckout(api: ServerProcess, client: pg.Client, shoppers: Shopper[], options: BenchOptions, workload: Workload, monitor: Monitor): Promise<CheckoutReport> {
  const checkout = checkoutReport(options);
  log(`checking out ${shoppers.length} carts, ${options.checkoutConcurrency} at a time`);
  const rss = api.sampleRss();
  const activity = sampleDatabaseActivity(monitor.activity);
  const usage = cpuUsage(api);
  const run = await checkoutAll(api.baseUrl, shoppers, options.checkoutConcurrency);
  checkout.rssMb = rss.stop();
  checkout.database = await activity.stop();
  checkout.cpu = usage.stop(checkout.database.cpuSeconds, run.result.requests, run.result.seconds);
  if (isMissingRouteOnly(run.result.statusCodes)) {
    checkout.reason = 'not implemented yet: POST /api/checkout answered 404';
    return checkout;
  }
  checkout.status = 'measured';
  checkout.result = run.result;
  checkout.ordersPerSec = run.ordersPerSec;
  checkout.serverErrors = run.serverErrors;
  checkout.verification = await verifyCheckout(client, run, workload.checkoutProductIds, CHECKOUT_STOCK);
  log(`checkout: ${run.ordersPerSec} orders/s, statuses ${JSON.stringify(run.result.statusCodes)}, verification ${checkout.verification.ok ? 'OK' : 'FAILED'}`);
  return checkout;
}

async function measureApi(client: pg.Client, options: BenchOptions, workload: Workload, monitor: Monitor): Promise<ApiMeasurements> {
  const { groups } = options;
  log('building the API (npm run build)');
  await buildProduction(BUILD_TIMEOUT_MS);
  const command = productionCommand();
  log(`starting the API as \`npm run start:prod\` does, with NODE_ENV=production: node ${command.slice(1).join(' ')}`);
  const api = await ServerProcess.start('API', command, apiEnvironment(options.databaseUrl), '/ready', SERVER_START_TIMEOUT_MS);
  const lifetimeRss = api.sampleRss(500);
  try {
    const catalog = catalogScenarios(workload, options.products);
    await warmUpServer(api, catalog, options);
    const measured: ApiMeasurements = { scenarios: [], cart: [], checkout: unmeasuredCheckout(options), underWrites: [], maxRssMb: 0, serverLog: { lines: 0, first: [] } };
    if (groups.has('catalog')) measured.scenarios = await measureOn(api, catalog, options, monitor, false);

    if (groups.has('cart') || groups.has('checkout') || groups.has('live')) {
      const shoppers = await prepareShoppers(api, options, workload);
      if (typeof shoppers === 'string') {
        log(`cart and checkout: ${shoppers}`);
        if (groups.has('cart')) measured.cart = [{ id: 'C1', name: CART_SCENARIO_NAME, request: 'GET /api/cart', status: 'unavailable', reason: shoppers }];
        measured.checkout.reason = shoppers;
      } else {
        measured.shoppers = shoppers;
        if (groups.has('cart')) {
          measured.cart.push(await measure(api, cartScenario(shoppers.cart.map((s) => s.token)), options, monitor));
          measured.cart.push(await measure(api, addToCartScenario(shoppers.adding), options, monitor));
        }
        if (groups.has('checkout')) measured.checkout = await measureCheckout(api, client, shoppers.checkout, options, workload, monitor);
        if (groups.has('live')) measured.live = await measureLive(api, catalog, measured.scenarios, shoppers.oneUnit, workload, options, monitor);
      }
    }
    // After the live runs: a storm of recomputations may keep PostgreSQL busy after the measurement ends.
    if (groups.has('edits')) measured.underWrites = await measureUnderWrites(api, catalog, workload, options, monitor);
    if (groups.has('flood')) measured.loginFlood = await measureLoginFlood(catalog, options, monitor);
    // Last: 10,000 new products change every later catalog figure.
    if (groups.has('import')) measured.bulkImport = await measureBulkImport(api, catalog, options);
    return { ...measured, maxRssMb: lifetimeRss.stop(), serverLog: { lines: api.logLineCount, first: api.firstLogLines } };
  } finally {
    lifetimeRss.stop();
    await api.stop();
  }
}

/** C3 before it is measured: unavailable until measureCheckout says otherwise. */
const checkoutReport = (options: BenchOptions): CheckoutReport => ({
  id: 'C3',
  name: CHECKOUT_SCENARIO_NAME,
  request: 'POST /api/checkout',
  status: 'unavailable',
  shoppers: options.checkoutUsers,
  concurrency: options.checkoutConcurrency,
});

const unmeasuredCheckout = (options: BenchOptions): CheckoutReport => ({
  ...checkoutReport(options),
  reason: options.groups.has('checkout') ? 'not measured' : 'not selected (--scenarios)',
});

/**
 * Issue 10: every catalog scenario again while the writer changes the catalog
 * (through the API under measurement) and probes each change through it and
 * through a second API instance on the same database.
 */
async function measureLive(
  api: ServerProcess,
  catalog: Scenario[],
  quiet: ScenarioReport[],
  oneUnit: OneUnitShopper[],
  workload: Workload,
  options: BenchOptions,
  monitor: Monitor,
): Promise<LiveReport> {
  log('starting a second API instance for the exactness probes');
  const second = await ServerProcess.start('second API', productionCommand(), apiEnvironment(options.databaseUrl), '/ready', SERVER_START_TIMEOUT_MS);
  try {
    const token = await adminToken(api.baseUrl, ADMIN.username, ADMIN.password);
    const writer = await CatalogWriter.prepare(api.baseUrl, [api.baseUrl, second.baseUrl], token, options.changesPerSecond, workload.live, oneUnit);
    const writes = noLiveWrites();
    const scenarios: ScenarioReport[] = [];
    for (const base of catalog) {
      const scenario = liveScenario(base, options.changesPerSecond);
      const run = writer.start();
      const report = await measure(api, scenario, options, monitor).finally(() => run.stop());
      const liveWrites = await run.stop();
      addLiveWrites(writes, liveWrites);
      log(`${scenario.id}: ${describeWrites(liveWrites)}`);
      const quietRun = quiet.find((q) => q.id === base.id)?.result;
      scenarios.push({
        ...report,
        quietId: base.id,
        liveWrites,
        ...ratioToQuiet(report.result, quietRun),
      });
    }
    return { changesPerSecond: options.changesPerSecond, readers: 2, scenarios, writes };
  } finally {
    await second.stop();
  }
}

/** Page 1 of the list (1) and the common-word search (4): the reads the edit, flood and import scenarios repeat. */
const busiestReads = (catalog: Scenario[]): Scenario[] => catalog.filter((s) => s.id === '1' || s.id === '4');

/**
 * Issue 8 §5: scenarios 1 and 4 while unknown users log in at `floodRate` a second (the issue measured
 * 12–20 a second starving the catalog), each read first measured on the same instance without the flood. The instance
 * of its own runs at the production BCRYPT_COST with the per-address login limits off: a flood from
 * as many addresses as it likes, so only the bound on password work stands between it and the catalog.
 */
async function measureLoginFlood(catalog: Scenario[], options: BenchOptions, monitor: Monitor): Promise<FloodReport> {
  log(`login flood: a third API instance at BCRYPT_COST=${FLOOD_BCRYPT_COST}, ${options.floodRate} logins/s of unknown users by ${options.floodConnections} clients`);
  const env = { ...apiEnvironment(options.databaseUrl), BCRYPT_COST: String(FLOOD_BCRYPT_COST) };
  const target = await ServerProcess.start('flood API', productionCommand(), env, '/ready', SERVER_START_TIMEOUT_MS);
  const report: FloodReport = { bcryptCost: FLOOD_BCRYPT_COST, rate: options.floodRate, connections: options.floodConnections, scenarios: [], logins: [] };
  try {
    const reads = busiestReads(catalog);
    await warmUpServer(target, reads, options);
    for (const base of reads) {
      const quiet = await measure(target, { ...base, id: `F${base.id}q`, name: `${base.name}, flood instance, no flood` }, options, monitor);
      const floodEnds = Promise.withResolvers<void>();
      const flooding = drive(target.baseUrl, loginFlood(), options.floodConnections, { until: floodEnds.promise }, options.floodRate);
      const flooded = await measure(target, { ...base, id: `F${base.id}`, name: `${base.name}, during a login flood` }, options, monitor).finally(() =>
        floodEnds.resolve(),
      );
      const logins = await flooding;
      log(`F${base.id}: logins ${logins.reqPerSec}/s answered, statuses ${JSON.stringify(logins.statusCodes)}, ${logins.errors} errors, login p99 ${logins.p99Ms} ms`);
      report.logins.push(logins);
      report.scenarios.push(quiet, {
        ...flooded,
        quietId: quiet.id,
        ...ratioToQuiet(flooded.result, quiet.result),
      });
    }
    return report;
  } finally {
    await target.stop();
  }
}

/**
 * Issue 10: products created through the API as fast as it takes them while
 * page 1 of the list (B1) and the common-word search (B4) are read, half of the
 * connections each, for as long as the import runs.
 */
async function measureBulkImport(api: ServerProcess, catalog: Scenario[], options: BenchOptions): Promise<ImportReport> {
  const report: ImportReport = { status: 'unavailable', concurrency: options.importConcurrency, reads: [] };
  const token = await adminToken(api.baseUrl, ADMIN.username, ADMIN.password);
  const readers = busiestReads(catalog);
  const connections = Math.max(1, Math.floor(options.connections / readers.length));
  log(`bulk import: ${options.importProducts} products by ${options.importConcurrency} admin clients while ${readers.length} reads run`);
  const rss = api.sampleRss();
  const importing = bulkImport(api.baseUrl, token, options.importProducts, options.importConcurrency, options.importSeconds);
  const reads = await Promise.all(readers.map((scenario) => drive(api.baseUrl, scenario.shape, connections, { until: importing })));
  const rssMb = rss.stop();
  const run = await importing;
  if (run.created === 0 && run.failures.every((f) => f.startsWith('404') || f.startsWith('405'))) {
    return { ...report, reason: `not implemented yet: POST /api/products answered ${run.failures[0] ?? 'nothing'}` };
  }
  log(`bulk import: ${run.created} created in ${run.seconds} s (${run.productsPerSec}/s), ${run.failed} failed`);
  report.status = 'measured';
  report.run = run;
  report.reads = readers.map((scenario, i) => {
    const result = reads[i]!;
    log(`B${scenario.id}. ${scenario.name}: ${result.reqPerSec} req/s, p99 ${result.p99Ms} ms, ${result.non2xx} non-2xx, ${result.errors} errors`);
    return {
      id: `B${scenario.id}`,
      name: `${scenario.name}, during the import (${connections} conn.)`,
      request: `GET ${scenario.shape.next().path}`,
      status: 'measured',
      result,
      rssMb,
    };
  });
  return report;
}

const EDITS_PER_SECOND = 1;

/**
 * Not in issue 4: the list and the common-word search again while an admin
 * edits a price once a second. Each edit is a row of the catalog change log that
 * every cached total and page reads and replays on its next request (a page the
 * change touches is recomputed), so this shows what the cached scenarios cost
 * when the catalog changes.
 */
async function measureUnderWrites(api: ServerProcess, catalog: Scenario[], workload: Workload, options: BenchOptions, monitor: Monitor): Promise<ScenarioReport[]> {
  const edited = workload.detailIds[0];
  if (!edited) return [];
  const token = await adminToken(api.baseUrl, ADMIN.username, ADMIN.password);
  const reports: ScenarioReport[] = [];
  for (const base of busiestReads(catalog)) {
    const id = `E${base.id}`;
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

/** req/s of a run under load (live writes, a flood) over the same reads without it, when both were measured. */
const ratioToQuiet = (loaded: LoadResult | undefined, quiet: LoadResult | undefined): Pick<ScenarioReport, 'ratioToQuiet'> =>
  loaded && quiet && quiet.reqPerSec > 0 ? { ratioToQuiet: ratio(loaded.reqPerSec, quiet.reqPerSec) } : {};

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

    const catalogReference = options.groups.has('catalog') ? await measureReferenceCatalog(options, workload, monitor) : [];
    const api = await measureApi(client, options, workload, monitor);
    const cartReference = options.groups.has('cart') && api.shoppers ? await measureReferenceCart(client, options, api.shoppers, monitor) : [];
    const reference = [...catalogReference, ...cartReference];
    const scenarios = withReferenceRatios(api.scenarios, reference);
    const cart = withReferenceRatios(api.cart, reference);

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
      groups: [...options.groups],
      reference,
      scenarios,
      cart,
      checkout: api.checkout,
      ...(api.live ? { live: api.live } : {}),
      ...(api.bulkImport ? { bulkImport: api.bulkImport } : {}),
      ...(api.loginFlood ? { loginFlood: api.loginFlood } : {}),
      underWrites: api.underWrites,
      maxServerRssMb: Math.round(api.maxRssMb),
      serverLog: api.serverLog,
      targets: evaluateTargets({
        products: options.products,
        scenarios,
        cart,
        checkout: api.checkout,
        ...(api.live ? { live: api.live } : {}),
        ...(api.bulkImport ? { bulkImport: api.bulkImport } : {}),
        maxRssMb: api.maxRssMb,
        groups: options.groups,
      }),
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
