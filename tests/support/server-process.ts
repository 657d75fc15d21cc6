import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, symlinkSync, watch, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, inject } from 'vitest';
import { createServerDatabase, serverUrl } from './database.js';

/**
 * The API as a real operating-system process: spawned with an exact environment,
 * observed through its exit, stderr, JSON log lines and HTTP, stopped by signals.
 *
 *   const db = await createEmptyDatabase();
 *   const [a, b, c] = await startServers(3, { env: { DATABASE_URL: db.url, JWT_SECRET: SERVER_SECRET } });
 *   await a.request('/ready');                        // { status, headers, body, text }
 *   await b.waitForLog((e) => e.msg === 'x', 'x');    // the first JSON log line matching
 *   expect(await c.stop()).toEqual({ code: 0, signal: null });   // SIGTERM, then the exit
 *   a.kill();                                         // SIGKILL, no shutdown at all
 *
 * A file that spawns servers calls useSpawnedServers() at its top: every process still
 * running when the file ends is SIGKILLed with its whole process group, so a failing
 * test leaves nothing behind.
 */

export const ROOT = path.resolve(import.meta.dirname, '../..');
/** A JWT secret that passes the production checks (≥ 32 characters, not the placeholder). */
export const SERVER_SECRET = 'spawned-server-secret-at-least-32-chars';
/**
 * The bound on a test (or hook) that spawns processes: a guard against hangs, never a timing
 * assertion. On a slow 2-core CI machine with the suite's heaviest files running together
 * (a browser, compilers, dozens of servers), one start takes up to ~10 s where it takes 1.2 s
 * alone, and a test that starts three servers in turn went past the default 30 s.
 */
export const SPAWNED_TEST_TIMEOUT_MS = 120_000;

export type LogEntry = Record<string, unknown> & { level: number; msg: string };
export interface ProcessExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/**
 * How the server is started:
 * - `build`: `node <build>/server.js`, the compiled build as `npm run start:prod` runs it
 *   (built once per test run, see `serverBuild()`): the fastest start, the default.
 * - `sources`: `node --import tsx src/server.ts`: the sources in ONE process. The `tsx`
 *   CLI instead runs the script in a child and relays signals to it, giving the child
 *   30 ms to acknowledge before SIGKILLing it (exit 143, last log lines lost) — a
 *   loaded machine misses that window, so tests that send signals never use the CLI.
 * - `npm-start`: `npm start` exactly as a developer types it (npm → tsx CLI → node);
 *   only for proving that path serves, not for signal semantics.
 * - or any argv.
 */
export type ServerCommand = 'build' | 'sources' | 'npm-start' | readonly string[];

export interface SpawnOptions {
  /** Merged over the defaults (PORT=0, BCRYPT_COST=4, LOG_LEVEL=info; NODE_COMPILE_CACHE for the build); `undefined` removes a default. */
  env?: Record<string, string | undefined>;
  command?: ServerCommand;
}

export interface ServerProcess {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** The JSON log lines written so far (complete lines only). */
  logs(): LogEntry[];
  /** The first log line matching; rejects if the process ends without writing one. */
  waitForLog(predicate: (entry: LogEntry) => boolean, what: string): Promise<LogEntry>;
  /** Resolves on 'close': the process has exited AND all its output has been read. */
  exited: Promise<ProcessExit>;
  /** Sends a signal to the process itself (not its group). */
  signal(signal: NodeJS.Signals): void;
  /** SIGKILL to the whole process group: no shutdown code runs. Resolves with the exit. */
  kill(): Promise<ProcessExit>;
}

export interface RunningServer extends ServerProcess {
  baseUrl: string;
  port: number;
  /** SIGTERM, then the exit. */
  stop(): Promise<ProcessExit>;
  request(route: string, init?: RequestOptions): Promise<ServerResponse>;
}

export interface RequestOptions {
  method?: string;
  json?: unknown;
  token?: string;
  headers?: Record<string, string>;
}

export interface ServerResponse {
  status: number;
  headers: Headers;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests inspect arbitrary JSON
  body: any;
  text: string;
}

const running = new Set<ChildProcess>();
let hooksInstalled = false;
let ownBuildRoot: string | undefined;

/**
 * Call once at the top of every test file that spawns servers: before its tests, the run's
 * one server build is ready (shared by every file); after them, no process it spawned is
 * left running. Per file and explicit, because the suite runs files without module
 * isolation (vitest.config.ts): hooks registered by importing this module would be
 * registered for the first importing file of each worker only.
 */
export function useSpawnedServers(): void {
  beforeAll(async () => {
    await serverBuild();
    hooksInstalled = true;
  }, SPAWNED_TEST_TIMEOUT_MS);
  afterAll(() => {
    hooksInstalled = false;
    for (const child of running) killGroup(child);
    running.clear();
  });
}

process.once('exit', () => {
  if (ownBuildRoot) rmSync(ownBuildRoot, { recursive: true, force: true });
});

function killGroup(child: ChildProcess): void {
  try {
    // detached: the child leads a process group of its own, which includes anything it spawned (npm → tsx → node).
    process.kill(-child.pid!, 'SIGKILL');
  } catch {
    // Already gone.
  }
}

function argv(command: ServerCommand): readonly string[] {
  if (command === 'build') return [process.execPath, path.join(builtServerDir(), 'dist/server.js')];
  if (command === 'sources') return [process.execPath, '--import', 'tsx', 'src/server.ts'];
  if (command === 'npm-start') return ['npm', 'start', '--silent'];
  return command;
}

export function spawnServer(options: SpawnOptions = {}): ServerProcess {
  if (!hooksInstalled) throw new Error('spawnServer: call useSpawnedServers() at the top of the test file (from tests or hooks, not at import)');
  const which = options.command ?? 'build';
  const [command, ...args] = argv(which);
  const env: Record<string, string> = {};
  // Nothing inherited but what finding node needs: the server sees exactly this environment.
  const merged = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    PORT: '0',
    BCRYPT_COST: '4',
    LOG_LEVEL: 'info',
    // The build's compiled code cached across the run's processes: ~0.1 s of CPU less per start (tests start dozens).
    ...(which === 'build' ? { NODE_COMPILE_CACHE: path.join(builtServerDir(), 'compile-cache') } : {}),
    ...options.env,
  };
  for (const [name, value] of Object.entries(merged)) if (value !== undefined) env[name] = value;
  const child = spawn(command!, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  running.add(child);

  let stdout = '';
  let stderr = '';
  let partialLine = '';
  const entries: LogEntry[] = [];
  let parseError: Error | undefined;
  const waiters = new Set<() => void>();
  child.stdout!.on('data', (chunk: Buffer) => {
    const text = chunk.toString('utf8');
    stdout += text;
    partialLine += text;
    for (let end = partialLine.indexOf('\n'); end >= 0; end = partialLine.indexOf('\n')) {
      const line = partialLine.slice(0, end);
      partialLine = partialLine.slice(end + 1);
      if (line === '') continue;
      try {
        entries.push(JSON.parse(line) as LogEntry);
      } catch {
        parseError ??= new Error(`stdout line is not JSON: ${line}`);
      }
    }
    for (const check of waiters) check();
  });
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8');
  });
  // 'close', not 'exit': only 'close' guarantees the process's last stdout lines have been read.
  const exited = new Promise<ProcessExit>((resolve) =>
    child.on('close', (code, signal) => {
      running.delete(child);
      resolve({ code, signal });
    }),
  );
  const logs = () => {
    if (parseError) throw parseError;
    return [...entries];
  };
  const waitForLog = (predicate: (entry: LogEntry) => boolean, what: string) =>
    new Promise<LogEntry>((resolve, reject) => {
      let seen = 0;
      const check = () => {
        if (parseError) {
          waiters.delete(check);
          return reject(parseError);
        }
        for (; seen < entries.length; seen++) {
          if (predicate(entries[seen]!)) {
            waiters.delete(check);
            return resolve(entries[seen]!);
          }
        }
      };
      waiters.add(check);
      check();
      void exited.then((exit) => {
        if (!waiters.has(check)) return;
        waiters.delete(check);
        reject(new Error(`server exited (${exit.code ?? exit.signal}) before logging ${what}\nstdout: ${stdout}\nstderr: ${stderr}`));
      });
    });
  return {
    child,
    stdout: () => stdout,
    stderr: () => stderr,
    logs,
    waitForLog,
    exited,
    signal: (signal) => void child.kill(signal),
    kill() {
      killGroup(child);
      return exited;
    },
  };
}

export const isListeningLine = (entry: LogEntry) => entry.msg.startsWith('Storefront API listening');

/** A server process that has logged that it listens. */
export async function startServer(options: SpawnOptions = {}): Promise<RunningServer> {
  const server = spawnServer(options);
  const listening = await server.waitForLog(isListeningLine, 'that it listens');
  return asRunning(server, listening.port as number);
}

/** Several servers started at once (e.g. replicas on one database, racing their startup). */
export function startServers(count: number, options: SpawnOptions = {}): Promise<RunningServer[]> {
  return Promise.all(Array.from({ length: count }, () => startServer(options)));
}

/** The RunningServer view of a process that has logged its port (for tests that awaited the line themselves). */
export function asRunning(server: ServerProcess, port: number): RunningServer {
  const baseUrl = `http://127.0.0.1:${port}`;
  return {
    ...server,
    baseUrl,
    port,
    stop() {
      server.signal('SIGTERM');
      return server.exited;
    },
    request: (route, init) => request(baseUrl, route, init),
  };
}

export async function request(baseUrl: string, route: string, init: RequestOptions = {}): Promise<ServerResponse> {
  const headers: Record<string, string> = { ...init.headers };
  if (init.json !== undefined) headers['Content-Type'] = 'application/json';
  if (init.token) headers['Authorization'] = `Bearer ${init.token}`;
  const res = await fetch(`${baseUrl}${route}`, { method: init.method ?? 'GET', headers, body: init.json === undefined ? undefined : JSON.stringify(init.json) });
  const text = await res.text();
  let body: unknown;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    // Not JSON: the test reads `text`.
  }
  return { status: res.status, headers: res.headers, body, text };
}

export interface EmptyDatabase {
  url: string;
  /** The same database through another host and port (a TCP proxy in front of it). */
  urlVia(port: number, host?: string): string;
  query(sql: string, params?: unknown[]): Promise<pg.QueryResult>;
  drop(): Promise<void>;
}

/**
 * An empty PostgreSQL database (TEST_DATABASE_URL's server): the server under test brings
 * its schema up itself. Spawned servers never use the embedded PGlite, which would share
 * ./.data with the developer's own server.
 */
export async function createEmptyDatabase(): Promise<EmptyDatabase> {
  const adminUrl = serverUrl();
  if (!adminUrl) throw new Error('spawned-server tests need TEST_DATABASE_URL (a PostgreSQL server)');
  const created = await createServerDatabase('storefront_server');
  const url = new URL(created.url);
  const client = new pg.Client({ connectionString: url.toString() });
  await client.connect();
  return {
    url: url.toString(),
    urlVia(port, host = '127.0.0.1') {
      const via = new URL(url);
      via.hostname = host;
      via.port = String(port);
      return via.toString();
    },
    query: (sql, params) => client.query(sql, params),
    async drop() {
      await client.end();
      await created.drop();
    },
  };
}

declare module 'vitest' {
  export interface ProvidedContext {
    /** A temporary directory for this test run, created and removed by tests/support/global-setup.ts. */
    serverBuildRoot: string;
  }
}

let buildDir: string | undefined;

function builtServerDir(): string {
  if (buildDir) return buildDir;
  throw new Error('the server build is not ready: call useSpawnedServers() at the top of the test file');
}

let building: Promise<string> | undefined;
/**
 * The compiled build (`tsc -p tsconfig.build.json`) for this test run, as a directory holding
 * dist/: made by the first test file that needs it, into the run's temporary directory, and
 * reused by every other file (they wait for it). Laid out as a project root — package.json
 * and node_modules are links to ours — because the build finds both one level above its own
 * modules. Runs that spawn no built server pay nothing.
 */
export function serverBuild(): Promise<string> {
  building ??= makeBuild().then((dir) => (buildDir = dir));
  return building;
}

async function makeBuild(): Promise<string> {
  let root: string;
  try {
    root = inject('serverBuildRoot');
  } catch {
    root = '';
  }
  if (!root) {
    // Without the global setup (another config): a build of this file's own.
    ownBuildRoot = mkdtempSync(path.join(tmpdir(), 'storefront-build-'));
    root = ownBuildRoot;
  }
  const done = path.join(root, 'app');
  const failed = path.join(root, 'failed.txt');
  let claimed = false;
  try {
    mkdirSync(path.join(root, 'lock'));
    claimed = true;
  } catch {
    // Another test file is building it.
  }
  if (claimed) {
    const staging = mkdtempSync(path.join(root, 'staging-'));
    symlinkSync(path.join(ROOT, 'package.json'), path.join(staging, 'package.json'));
    symlinkSync(path.join(ROOT, 'node_modules'), path.join(staging, 'node_modules'));
    // --noCheck: the same JavaScript as `npm run build` in a third of the CPU time; the types are
    // `npm run typecheck`'s job (CI runs it).
    const tsc = spawn(process.execPath, [path.join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json', '--noCheck', '--outDir', path.join(staging, 'dist')], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    tsc.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    tsc.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    const code = await new Promise<number | null>((resolve) => tsc.on('close', resolve));
    // Renames are atomic: a waiting file sees either nothing or the whole build (or the failure).
    if (code === 0 && output === '') renameSync(staging, done);
    else {
      writeFileSync(`${failed}.tmp`, `tsc exited ${code}:\n${output}`);
      renameSync(`${failed}.tmp`, failed);
    }
  } else {
    await new Promise<void>((resolve) => {
      // Watch first, then look: a rename between the two cannot be missed.
      const watcher = watch(root, () => {
        if (existsSync(done) || existsSync(failed)) {
          watcher.close();
          resolve();
        }
      });
      if (existsSync(done) || existsSync(failed)) {
        watcher.close();
        resolve();
      }
    });
  }
  if (existsSync(failed)) throw new Error(`the server build failed: ${readFileSync(failed, 'utf8')}`);
  return done;
}
