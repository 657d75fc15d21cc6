import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, chmodSync, constants, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';

/**
 * A private PgBouncer (Debian's `pgbouncer` package, 1.18) in front of a
 * PostgreSQL server, in transaction pooling mode unless told: its config lives in a temp
 * directory, it listens on a free loopback port and runs in the foreground as a
 * child of the test process, so stopping it (or the test process dying) ends it.
 */
export interface PgBouncer {
  port: number;
  /** `url` (a URL of the upstream server) rewritten to go through this PgBouncer. */
  through(url: string): string;
  stop(): Promise<void>;
}

export interface PgBouncerOptions {
  /** The server to pool, as a PostgreSQL URL; its host, port, user and password are used. */
  upstreamUrl: string;
  /** Server connections per database and user: small values make clients share them. */
  poolSize: number;
  /** PgBouncer's pool_mode; `transaction` unless told (`session` for comparisons). */
  poolMode?: 'session' | 'transaction';
}

const CANDIDATE_BINARIES = ['/usr/sbin/pgbouncer', '/usr/bin/pgbouncer', '/usr/local/bin/pgbouncer'];

/** The pgbouncer executable, or undefined when it is not installed. */
export function findPgBouncer(): string | undefined {
  const onPath = (process.env.PATH ?? '').split(path.delimiter).map((dir) => path.join(dir, 'pgbouncer'));
  return [...onPath, ...CANDIDATE_BINARIES].find((candidate) => {
    try {
      accessSync(candidate, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

function configFile(dir: string, port: number, options: PgBouncerOptions): string {
  const upstream = new URL(options.upstreamUrl);
  const server = [`host=${upstream.hostname}`, `port=${upstream.port || '5432'}`];
  if (upstream.password) server.push(`password=${decodeURIComponent(upstream.password)}`);
  return [
    '[databases]',
    // Any database name is passed through, so tests can create and use their own.
    `* = ${server.join(' ')}`,
    '[pgbouncer]',
    'listen_addr = 127.0.0.1',
    `listen_port = ${port}`,
    'unix_socket_dir =',
    'auth_type = trust',
    `auth_file = ${path.join(dir, 'users.txt')}`,
    `pool_mode = ${options.poolMode ?? 'transaction'}`,
    'max_client_conn = 1000',
    `default_pool_size = ${options.poolSize}`,
    // After a failed server login PgBouncer waits this long before it tries again (default 15 s):
    // outage tests then measure PgBouncer's back-off, not the app's recovery.
    'server_login_retry = 1',
    // Sent by some drivers (JDBC), harmless to drop. Parameters that set session state are
    // deliberately not listed: the app must not send them (src/db/orm.ts), and this proves it.
    'ignore_startup_parameters = extra_float_digits',
    '',
  ].join('\n');
}

/** Starts PgBouncer and resolves once it listens; rejects with its output if it exits first. */
export async function startPgBouncer(options: PgBouncerOptions): Promise<PgBouncer> {
  const binary = findPgBouncer();
  if (!binary) throw new Error('pgbouncer is not installed (apt-get install -y pgbouncer)');
  const user = decodeURIComponent(new URL(options.upstreamUrl).username || 'postgres');

  // The port is free when picked but could be taken before PgBouncer binds it (other
  // processes pick ports too): then PgBouncer exits, and another port is tried.
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const dir = mkdtempSync(path.join(tmpdir(), 'pgbouncer-'));
    // Run as root, PgBouncer must switch to another user (-u), who then reads these files.
    chmodSync(dir, 0o755);
    writeFileSync(path.join(dir, 'users.txt'), `"${user.replaceAll('"', '""')}" ""\n`, { mode: 0o644 });
    writeFileSync(path.join(dir, 'pgbouncer.ini'), configFile(dir, port, options), { mode: 0o644 });
    const args = process.getuid?.() === 0 ? ['-u', 'postgres', path.join(dir, 'pgbouncer.ini')] : [path.join(dir, 'pgbouncer.ini')];
    const child = spawn(binary, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    try {
      await listening(child, port);
    } catch (error) {
      rmSync(dir, { recursive: true, force: true });
      if (attempt < 3 && /Address already in use/.test(String(error))) continue;
      throw error;
    }
    // Should the test process end without stop() (a crash, a timeout), PgBouncer must not outlive it.
    const killOnExit = () => child.kill('SIGTERM');
    process.once('exit', killOnExit);
    return {
      port,
      through(url) {
        const viaPooler = new URL(url);
        viaPooler.hostname = '127.0.0.1';
        viaPooler.port = String(port);
        return viaPooler.toString();
      },
      async stop() {
        process.off('exit', killOnExit);
        if (child.exitCode === null && child.signalCode === null) {
          const exited = new Promise((resolve) => child.once('exit', resolve));
          child.kill('SIGTERM'); // immediate shutdown: closes client and server connections
          await exited;
        }
        rmSync(dir, { recursive: true, force: true });
      },
    };
  }
}

/** Resolves when PgBouncer logs that it listens on `port` (it logs to stderr when no logfile is set). */
function listening(child: ChildProcess, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let output = '';
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes(`listening on 127.0.0.1:${port}`)) {
        // Keep draining its log so a full pipe never blocks it.
        child.stderr!.off('data', onData).resume();
        child.off('exit', onExit);
        resolve();
      }
    };
    const onExit = (code: number | null) => reject(new Error(`pgbouncer exited (${code}) before listening:\n${output}`));
    child.stderr!.on('data', onData);
    child.once('exit', onExit);
    child.once('error', reject);
  });
}
