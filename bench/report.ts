import type { DatabaseActivity } from './db-activity.js';
import type { LoadResult } from './load.js';
import type { CheckoutVerification } from './shoppers.js';
import type { ImportRun } from './bulk-import.js';
import type { LiveWriterResult, WriterResult } from './writer.js';

export interface CpuReport {
  /** CPU time per request (per checkout) in the server process and in its PostgreSQL backends. */
  serverMsPerRequest: number;
  databaseMsPerRequest: number;
  /** Cores the bench process itself (autocannon) kept busy. */
  loadGeneratorCores: number;
  /** Cores kept busy by everything else on the machine: other work competing with the measurement. */
  otherCores: number;
}

export interface ScenarioReport {
  id: string;
  name: string;
  /** One representative request (the detail and cart scenarios rotate ids and tokens). */
  request: string;
  status: 'measured' | 'unavailable';
  reason?: string;
  result?: LoadResult;
  /** Highest RSS of the server process while the scenario ran. */
  rssMb?: number;
  database?: DatabaseActivity;
  cpu?: CpuReport;
  /** Price edits made while the scenario ran (scenarios under writes only). */
  writes?: WriterResult;
  /** Id of the reference-server scenario this one is compared with. */
  referenceId?: string;
  ratioToReference?: number;
  /** The reference's CPU per request (app + db) over this scenario's: the same comparison, insensitive to other load. */
  cpuRatioToReference?: number;
  /** Live scenarios: the quiet scenario measured with the same requests, and req/s live over quiet. */
  quietId?: string;
  ratioToQuiet?: number;
  /** Live scenarios: what the catalog writer did while this one was measured. */
  liveWrites?: LiveWriterResult;
}

/** Issue 10: the catalog scenarios again while the catalog changes. */
export interface LiveReport {
  changesPerSecond: number;
  /** Instances the exactness probes read through: the one written to, and a second one on the same database. */
  readers: number;
  scenarios: ScenarioReport[];
  /** Every live scenario's writes together. */
  writes: LiveWriterResult;
}

export interface ImportReport {
  status: 'measured' | 'unavailable';
  reason?: string;
  concurrency: number;
  run?: ImportRun;
  /** List and search read while the import ran. */
  reads: ScenarioReport[];
}

/** Issue 8 §5: reads while unknown users log in as fast as the API answers (on an instance of its own). */
export interface FloodReport {
  bcryptCost: number;
  /** Logins a second the flood sends (open loop), and the clients sending them. */
  rate: number;
  connections: number;
  /** Each read without the flood (F1q, F4q), then during it (F1, F4, with ratioToQuiet). */
  scenarios: ScenarioReport[];
  /** What the flood's logins got during F1 and F4 (401 for a hashed attempt, 503 for one turned away). */
  logins: LoadResult[];
}

export interface CheckoutReport extends ScenarioReport {
  shoppers: number;
  concurrency: number;
  ordersPerSec?: number;
  serverErrors?: number;
  verification?: CheckoutVerification;
}

export interface TargetReport {
  target: string;
  /** null: not evaluated (scenario unavailable, or the target is for another catalog size). */
  met: boolean | null;
  detail: string;
}

export interface BenchReport {
  generatedAt: string;
  /** The code measured: HEAD, and whether src/ had uncommitted changes. */
  app: { commit: string; uncommittedChanges: boolean };
  machine: { cores: number; cpuModel: string; memoryMb: number; node: string; postgres: string; note: string };
  catalog: {
    products: number;
    outOfStock: number;
    generationSeconds: number;
    category: { name: string; products: number };
    searches: Record<'common' | 'rare' | 'prefix', { query: string; matches: number }>;
  };
  settings: { durationSeconds: number; warmupSeconds: number; connections: number };
  /** Which groups of scenarios ran (--scenarios). */
  groups: string[];
  reference: ScenarioReport[];
  scenarios: ScenarioReport[];
  /** GET /api/cart and add to cart, compared with the reference's RC1 and RC2. */
  cart: ScenarioReport[];
  checkout: CheckoutReport;
  live?: LiveReport;
  bulkImport?: ImportReport;
  loginFlood?: FloodReport;
  /** Not in issue 4: catalog scenarios repeated while an admin edits prices. */
  underWrites: ScenarioReport[];
  maxServerRssMb: number;
  serverLog: { lines: number; first: string[] };
  targets: TargetReport[];
}

const fixed = (value: number | undefined, digits = 1) => (value === undefined ? '–' : value.toFixed(digits));

function row(report: ScenarioReport, throughput?: number): string[] {
  const result = report.result;
  if (report.status === 'unavailable' || !result) {
    return [`${report.id}. ${report.name}`, 'unavailable', '', '', '', '', '', '', '', '', '', report.reason ?? ''];
  }
  return [
    `${report.id}. ${report.name}`,
    fixed(throughput ?? result.reqPerSec, 0),
    fixed(result.p50Ms),
    fixed(result.p99Ms),
    fixed(result.maxMs),
    String(result.non2xx),
    String(result.errors),
    fixed(report.rssMb, 0),
    report.cpu ? `${fixed(report.cpu.serverMsPerRequest, 2)}+${fixed(report.cpu.databaseMsPerRequest, 2)}` : '',
    report.database ? `${fixed(report.database.running)}/${fixed(report.database.lockWait)}/${fixed(report.database.idleInTransaction)}` : '',
    report.cpu ? fixed(report.cpu.otherCores, 2) : '',
    report.ratioToQuiet !== undefined
      ? `${fixed(report.ratioToQuiet * 100, 0)}% of quiet ${report.quietId}`
      : report.ratioToReference === undefined
        ? ''
        : `${fixed(report.ratioToReference * 100, 0)}% of ${report.referenceId}` +
          (report.cpuRatioToReference === undefined ? '' : ` (by CPU: ${fixed(report.cpuRatioToReference * 100, 0)}%)`),
  ];
}

const sum = (counts: Record<string, number>) => Object.values(counts).reduce((a, b) => a + b, 0);

/** One line per writer run: what it changed, how fast, what failed, and whether the reads after it saw it. */
export function describeWrites(w: LiveWriterResult): string {
  return (
    `${sum(w.made)} changes in ${w.seconds} s (${fixed(sum(w.made) / (w.seconds || 1), 1)}/s of ${w.scheduled} scheduled): ` +
    `${w.made.create} created, ${w.made.sellOut} sold out, ${w.made.restock} restocked, ${w.made.checkout} checkouts; ` +
    `${sum(w.failed)} failed, ${w.skipped} skipped; write p99 ${w.writeP99Ms} ms; ` +
    `exactness: ${w.probes} probes, ${w.violations} violations`
  );
}

function liveLines(live: LiveReport): string[] {
  const out = [
    `live catalog (L*): ${live.changesPerSecond} changes/s in rotation (create, sell out, restock, checkout of 1 unit) through the API; ` +
      `after each change a list/search read through ${live.readers === 2 ? 'the writing instance and a second instance' : 'the instance'} must reflect it`,
  ];
  for (const s of live.scenarios) if (s.liveWrites) out.push(`  ${s.id}: ${describeWrites(s.liveWrites)}`);
  out.push(`  all: ${describeWrites(live.writes)}`);
  for (const failure of live.writes.failures) out.push(`  write failure: ${failure}`);
  for (const violation of live.writes.violationSamples) out.push(`  EXACTNESS VIOLATION: ${violation}`);
  if (live.writes.violations > live.writes.violationSamples.length) out.push(`  … and ${live.writes.violations - live.writes.violationSamples.length} more violations`);
  return out;
}

function importLines(report: ImportReport): string[] {
  if (report.status === 'unavailable' || !report.run) return [`bulk import: unavailable (${report.reason ?? 'not measured'})`];
  const run = report.run;
  const out = [
    `bulk import (B*): ${run.created.toLocaleString('en')} of ${run.requested.toLocaleString('en')} products created through POST /api/products ` +
      `by ${report.concurrency} admin clients in ${run.seconds} s: ${run.productsPerSec} products/s; ${run.failed} failed` +
      (run.stoppedAfterSeconds === undefined ? '' : `; STOPPED by the ${run.stoppedAfterSeconds} s limit (--import-seconds)`),
  ];
  for (const failure of run.failures) out.push(`  import failure: ${failure}`);
  return out;
}

function floodLines(report: FloodReport): string[] {
  const out = [
    `login flood (F*): ${report.rate} logins/s of unknown users by ${report.connections} clients (BCRYPT_COST ${report.bcryptCost}, no address limits), ` +
      'on an instance of its own; F*q: the same reads there without the flood',
  ];
  const flooded = report.scenarios.filter((s) => s.quietId !== undefined);
  flooded.forEach((s, i) => {
    const logins = report.logins[i];
    const quiet = report.scenarios.find((q) => q.id === s.quietId)?.result;
    if (!logins || !s.result || !quiet) return;
    out.push(
      `  ${s.id}: p99 ${fixed(s.result.p99Ms)} ms during the flood, ${fixed(quiet.p99Ms)} ms without; ` +
        `logins ${fixed(logins.reqPerSec, 1)}/s answered (${Object.entries(logins.statusCodes)
          .map(([status, count]) => `${count} × ${status}`)
          .join(', ')}), ${logins.errors} unanswered, login p99 ${fixed(logins.p99Ms, 0)} ms`,
    );
  });
  return out;
}

function renderTable(header: string[], rows: string[][]): string {
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((cells) => (cells[column] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((cell, column) => (column === cells.length - 1 ? cell : column === 0 ? cell.padEnd(widths[column] ?? 0) : cell.padStart(widths[column] ?? 0)))
      .join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

export function renderReport(report: BenchReport): string {
  const header = ['scenario', 'req/s', 'p50 ms', 'p99 ms', 'max ms', 'non-2xx', 'errors', 'RSS MB', 'CPU ms app+db', 'DB run/lock/idle-tx', 'other cores', 'vs reference'];
  const rows = [
    ...report.reference.map((r) => row(r)),
    ...report.scenarios.map((s) => row(s)),
    ...report.cart.map((s) => row(s)),
    ...(report.groups.includes('checkout') ? [row(report.checkout, report.checkout.ordersPerSec)] : []),
    ...(report.live?.scenarios ?? []).map((s) => row(s)),
    ...report.underWrites.map((s) => row(s)),
    ...(report.loginFlood?.scenarios ?? []).map((s) => row(s)),
    ...(report.bulkImport?.reads ?? []).map((s) => row(s)),
  ];
  const { machine, catalog, settings, checkout } = report;
  const out = [
    `Storefront bench — ${report.generatedAt} — app at ${report.app.commit}${report.app.uncommittedChanges ? ' with uncommitted changes in src/' : ''}`,
    `machine: ${machine.cores} cores (${machine.cpuModel}), ${machine.memoryMb} MB RAM, Node ${machine.node}, PostgreSQL ${machine.postgres}`,
    `         ${machine.note}`,
    `catalog: ${catalog.products.toLocaleString('en')} products (${catalog.outOfStock.toLocaleString('en')} out of stock), generated in ${catalog.generationSeconds} s; ` +
      `category "${catalog.category.name}" has ${catalog.category.products.toLocaleString('en')}; ` +
      Object.entries(catalog.searches)
        .map(([kind, s]) => `${kind} search "${s.query}" matches ${s.matches.toLocaleString('en')}`)
        .join(', '),
    `load:    ${settings.connections} connections, ${settings.durationSeconds} s per scenario after ${settings.warmupSeconds} s warm-up; ` +
      `checkout: ${checkout.shoppers} shoppers, ${checkout.concurrency} in flight (req/s column = orders/s)`,
    '',
    renderTable(header, rows),
    '',
    'CPU ms app+db: CPU time per request (per order for checkout) in the server process + in its PostgreSQL backends;',
    '  unlike req/s it hardly changes when other work competes for the cores, so it is the figure to compare between runs.',
    'L*: the catalog scenario of the same number while the catalog changes (issue 10); vs column: req/s live / quiet.',
    'E1, E4 (not in issue 4): scenarios 1 and 4 again while an admin changes a price once a second through the API.',
    'F*: list and search during a login flood of unknown users (F*q: the same instance without it); vs column: req/s flood / no flood;',
    "  their CPU column divides all the server's CPU, the flood's included, by the reads.",
    'B*: list and search read while the bulk import runs.',
    'DB run/lock/idle-tx: average server connections running in PostgreSQL / waiting for a row lock / idle inside an open transaction.',
    'other cores: CPU used meanwhile by anything but the server, its backends and the load generator; above ~0.1 the numbers are disturbed.',
    '',
  ];
  if (checkout.verification) {
    const v = checkout.verification;
    out.push(
      `checkout verification: ${v.ok ? 'OK' : 'FAILED'} — ${v.created} orders answered 201, ${v.ordersInDatabase} in the database, ` +
        `${v.createdButMissing} 201s without an order, ${v.productsWithNegativeStock} products with negative stock, ${v.stockMismatches} stock mismatches`,
    );
  }
  if (report.live) out.push(...liveLines(report.live));
  if (report.loginFlood) out.push(...floodLines(report.loginFlood));
  if (report.bulkImport) out.push(...importLines(report.bulkImport));
  for (const s of report.underWrites) {
    if (s.writes) out.push(`${s.id}: ${s.writes.edits} price edits succeeded, ${s.writes.failures} failed during the scenario`);
  }
  out.push(`max server RSS: ${fixed(report.maxServerRssMb, 0)} MB; server log lines at warn or above: ${report.serverLog.lines}`, '', 'targets:');
  for (const target of report.targets) {
    const mark = target.met === null ? ' n/a ' : target.met ? ' met ' : 'MISSED';
    out.push(`  [${mark}] ${target.target}: ${target.detail}`);
  }
  return out.join('\n');
}
