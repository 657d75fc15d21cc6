import type { DatabaseActivity } from './db-activity.js';
import type { LoadResult } from './load.js';
import type { CheckoutVerification } from './shoppers.js';
import type { WriterResult } from './writer.js';

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
  reference: ScenarioReport[];
  scenarios: ScenarioReport[];
  checkout: CheckoutReport;
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
    report.ratioToReference === undefined
      ? ''
      : `${fixed(report.ratioToReference * 100, 0)}% of ${report.referenceId}` +
        (report.cpuRatioToReference === undefined ? '' : ` (by CPU: ${fixed(report.cpuRatioToReference * 100, 0)}%)`),
  ];
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
    row(report.checkout, report.checkout.ordersPerSec),
    ...report.underWrites.map((s) => row(s)),
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
    '10, 11 (not in issue 4): scenarios 1 and 4 again while an admin changes a price once a second through the API.',
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
