import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export const projectRoot = path.resolve(import.meta.dirname, '..');
const TSX = path.join(projectRoot, 'node_modules/.bin/tsx');
const KEPT_LOG_LINES = 20;

/** Every server this run started, so an abort can stop them all. */
const liveServers = new Set<ServerProcess>();

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      probe.close(() => resolve(port));
    });
  });
}

/** A TypeScript entry point run from its sources. */
export const fromSources = (script: string): string[] => [TSX, script];

/**
 * The API as production runs it: `npm run start:prod` (the compiled build and its
 * heap settings), read from package.json so the bench cannot drift from it, and
 * started without npm in between (npm adds a process and log lines of its own).
 */
export function productionCommand(): string[] {
  const { scripts } = JSON.parse(readFileSync(path.join(projectRoot, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
  const [program, ...args] = scripts['start:prod']!.split(/\s+/);
  if (program !== 'node') throw new Error(`start:prod must run node directly, found: ${scripts['start:prod']}`);
  return [process.execPath, ...args];
}

/** `npm run build`: compiles src/ to dist/ for productionCommand(). */
export async function buildProduction(timeoutMs: number): Promise<void> {
  await run([process.execPath, path.join(projectRoot, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'], process.env, timeoutMs);
}

/** Runs a TypeScript entry point with tsx to completion; rejects with its output when it fails. */
export async function runScript(script: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs: number): Promise<string> {
  return run([...fromSources(script), ...args], env, timeoutMs);
}

async function run([command, ...args]: string[], env: NodeJS.ProcessEnv, timeoutMs: number): Promise<string> {
  const child = spawn(command!, args, { cwd: projectRoot, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  try {
    const code = await new Promise<number | null>((resolve, reject) => {
      child.once('error', reject);
      child.once('exit', resolve);
    });
    if (code !== 0) throw new Error(`${[command, ...args].join(' ')} exited with ${code}:\n${output.trim()}`);
    return output;
  } finally {
    clearTimeout(timer);
  }
}

/** /proc reports CPU times in USER_HZ ticks, which Linux fixes at 100 per second for user space. */
const TICKS_PER_SECOND = 100;

/** User + system CPU seconds a process has used so far (0 once it is gone). */
export function cpuSecondsOf(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the parenthesised command name: state is field 3, utime 14, stime 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
  } catch {
    return 0;
  }
}

/** CPU seconds the whole machine has spent busy (all cores, every process, kernel included). */
export function machineBusySeconds(): number {
  const [, ...ticks] = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).map(Number);
  // user nice system idle iowait irq softirq steal …: everything but idle and iowait is busy.
  const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = ticks;
  return (user + nice + system + irq + softirq + steal) / TICKS_PER_SECOND;
}

function readRssKb(pid: number): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
    return match ? Number(match[1]) : 0;
  } catch {
    return 0;
  }
}

function childrenOf(pid: number): number[] {
  const children: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // The command name (field 2) may contain spaces; the parent pid follows the closing parenthesis.
      const afterName = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(afterName[1]) === pid) children.push(Number(entry));
    } catch {
      // The process ended while the table was being read.
    }
  }
  return children;
}

function executable(pid: number): string | undefined {
  try {
    return readlinkSync(`/proc/${pid}/exe`);
  } catch {
    return undefined;
  }
}

/**
 * tsx runs the script in a child node process (which has an esbuild helper of
 * its own); the RSS that matters is that child's, not the launcher's. Returns
 * the deepest descendant running the same executable as `pid`.
 */
function scriptProcess(pid: number): number {
  const node = executable(pid);
  let found = pid;
  let generation = [pid];
  while (generation.length > 0) {
    generation = generation.flatMap(childrenOf);
    const sameExecutable = generation.find((child) => executable(child) === node);
    if (sameExecutable !== undefined) found = sameExecutable;
  }
  return found;
}

export interface RssSampler {
  /** Stops sampling and returns the highest RSS seen, in MB. */
  stop(): number;
}

export class ServerProcess {
  readonly baseUrl: string;
  /** warn-or-worse log lines the server wrote (it runs with LOG_LEVEL=warn). */
  logLineCount = 0;
  readonly firstLogLines: string[] = [];
  private workerPid: number | undefined;
  private readonly exited: Promise<number | null>;

  private constructor(
    readonly name: string,
    private readonly child: ChildProcess,
    readonly port: number,
  ) {
    this.baseUrl = `http://127.0.0.1:${port}`;
    this.exited = new Promise((resolve) => child.once('exit', resolve));
    let pending = '';
    const collect = (chunk: Buffer) => {
      pending += chunk.toString();
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) {
        if (line.trim() === '') continue;
        this.logLineCount += 1;
        if (this.firstLogLines.length < KEPT_LOG_LINES) this.firstLogLines.push(line);
      }
    };
    child.stdout?.on('data', collect);
    child.stderr?.on('data', collect);
  }

  /** Spawns `command` in its own process group and waits until `readyPath` answers 200. */
  static async start(name: string, [program, ...args]: string[], env: NodeJS.ProcessEnv, readyPath: string, timeoutMs: number): Promise<ServerProcess> {
    const port = await freePort();
    const child = spawn(program!, args, {
      cwd: projectRoot,
      env: { ...env, PORT: String(port) },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    const server = new ServerProcess(name, child, port);
    liveServers.add(server);
    try {
      await server.waitUntilReady(readyPath, timeoutMs);
    } catch (error) {
      await server.stop();
      throw error;
    }
    return server;
  }

  private async waitUntilReady(readyPath: string, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let exitCode: number | null | undefined;
    void this.exited.then((code) => (exitCode = code));
    while (Date.now() < deadline) {
      if (exitCode !== undefined) {
        throw new Error(`${this.name} exited with ${exitCode} before it was ready:\n${this.firstLogLines.join('\n')}`);
      }
      try {
        const response = await fetch(this.baseUrl + readyPath, { signal: AbortSignal.timeout(2000) });
        await response.arrayBuffer();
        if (response.ok) {
          this.workerPid = this.child.pid === undefined ? undefined : scriptProcess(this.child.pid);
          return;
        }
      } catch {
        // Not listening yet.
      }
      await sleep(200);
    }
    throw new Error(`${this.name} was not ready within ${timeoutMs / 1000} s:\n${this.firstLogLines.join('\n')}`);
  }

  /** CPU seconds the server process has used so far. */
  cpuSeconds(): number {
    return this.workerPid === undefined ? 0 : cpuSecondsOf(this.workerPid);
  }

  rssMb(): number {
    return this.workerPid === undefined ? 0 : readRssKb(this.workerPid) / 1024;
  }

  sampleRss(intervalMs = 250): RssSampler {
    let max = this.rssMb();
    const timer = setInterval(() => (max = Math.max(max, this.rssMb())), intervalMs);
    return {
      stop: () => {
        clearInterval(timer);
        return Math.max(max, this.rssMb());
      },
    };
  }

  /** SIGTERM to the process group (graceful shutdown), SIGKILL if it lingers. */
  async stop(graceMs = 15_000): Promise<void> {
    liveServers.delete(this);
    const pid = this.child.pid;
    if (pid === undefined || this.child.exitCode !== null || this.child.signalCode !== null) return;
    signalGroup(pid, 'SIGTERM');
    const stopped = await Promise.race([this.exited.then(() => true), sleep(graceMs).then(() => false)]);
    if (!stopped) {
      signalGroup(pid, 'SIGKILL');
      await this.exited;
    }
  }

  /** Synchronous last resort for process exit handlers. */
  kill(): void {
    liveServers.delete(this);
    if (this.child.pid !== undefined) signalGroup(this.child.pid, 'SIGKILL');
  }
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // Already gone.
  }
}

export async function stopAllServers(): Promise<void> {
  await Promise.all([...liveServers].map((server) => server.stop(5000)));
}

export function killAllServers(): void {
  for (const server of [...liveServers]) server.kill();
}
