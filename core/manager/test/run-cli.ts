// Spawns the real, compiled `bilbycast-manager` binary (build with `npx tsc -b` first) with an
// explicit minimal environment, plus the small helpers the CLI tests share.
import { spawn, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import type { TestDatabase } from '@bilbycast/tests';
import knex, { type Knex } from 'knex';

export const BIN = path.resolve(__dirname, '../bin/bilbycast-manager.js');
/** Upper bound for a one-shot command (argon2 hashing, MariaDB connections). */
const RUN_TIMEOUT_MS = 20_000;

export type CliEnv = Record<string, string | undefined>;

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** The command did not exit within its deadline and was killed. */
  timedOut: boolean;
}

/** Only PATH and HOME from this process; every BILBYCAST_* value comes from `vars`. */
export function cliEnv(vars: CliEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp' };
  for (const [key, value] of Object.entries(vars)) if (value !== undefined) env[key] = value;
  return env;
}

/** The database and data dir of a test database, as the CLI reads them. */
export function databaseEnv(database: Pick<TestDatabase, 'url' | 'dataDir'>, vars: CliEnv = {}): CliEnv {
  return { BILBYCAST_DATABASE_URL: database.url, BILBYCAST_DATA_DIR: database.dataDir, ...vars };
}

export function randomMasterKey(): string {
  return crypto.randomBytes(32).toString('hex');
}

export interface RunOptions {
  env?: CliEnv;
  /** Written to standard input, which is then closed (so it is never a TTY). */
  input?: string;
  /** Working directory; defaults to the data dir when one is set, so no stray ./data appears. */
  cwd?: string;
  timeoutMs?: number;
}

const live = new Set<ChildProcess>();

function spawnCli(args: string[], options: RunOptions): ChildProcess {
  const cwd = options.cwd ?? options.env?.BILBYCAST_DATA_DIR ?? path.dirname(BIN);
  const child = spawn(process.execPath, [BIN, ...args], { cwd, env: cliEnv(options.env), stdio: ['pipe', 'pipe', 'pipe'] });
  live.add(child);
  child.once('exit', () => live.delete(child));
  child.stdin.end(options.input ?? '');
  return child;
}

function collect(child: ChildProcess): { stdout: () => string; stderr: () => string } {
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (s: string) => (stdout += s));
  child.stderr!.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  return { stdout: () => stdout, stderr: () => stderr };
}

function waitForClose(child: ChildProcess, out: ReturnType<typeof collect>, timeoutMs: number): Promise<CliResult> {
  return new Promise((resolve) => {
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    const done = (code: number | null, signal: NodeJS.Signals | null) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout: out.stdout(), stderr: out.stderr(), timedOut });
    };
    child.once('close', done);
  });
}

/** Runs a command to completion (killed after the deadline; `timedOut` then says so). */
export async function runCli(args: string[], options: RunOptions = {}): Promise<CliResult> {
  const child = spawnCli(args, options);
  return waitForClose(child, collect(child), options.timeoutMs ?? RUN_TIMEOUT_MS);
}

/** A long-running `serve` process. */
export class RunningCli {
  private readonly out: ReturnType<typeof collect>;
  private readonly closed: Promise<CliResult>;
  private exited = false;

  constructor(readonly child: ChildProcess) {
    this.out = collect(child);
    this.closed = new Promise((resolve) =>
      child.once('close', (code, signal) => resolve({ code, signal, stdout: this.out.stdout(), stderr: this.out.stderr(), timedOut: false }))
    );
    void this.closed.then(() => (this.exited = true));
  }

  get stdout(): string {
    return this.out.stdout();
  }

  get stderr(): string {
    return this.out.stderr();
  }

  get hasExited(): boolean {
    return this.exited;
  }

  /** Resolves when the process exits; after the deadline it is killed and `timedOut` is true. */
  async waitForExit(timeoutMs: number): Promise<CliResult> {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), timeoutMs)));
    const first = await Promise.race([this.closed, deadline]);
    clearTimeout(timer);
    if (first !== 'timeout') return first;
    this.child.kill('SIGKILL');
    return { ...(await this.closed), timedOut: true };
  }
}

export function startCli(args: string[], options: RunOptions = {}): RunningCli {
  return new RunningCli(spawnCli(args, options));
}

/** Kills whatever a failed test left running (afterEach). */
export async function killLeftovers(): Promise<void> {
  const children = [...live];
  await Promise.all(
    children.map(
      (child) =>
        new Promise<void>((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null) return resolve();
          child.once('exit', () => resolve());
          child.kill('SIGKILL');
        })
    )
  );
}

/** A loopback port that was free a moment ago. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** Holds a loopback port open until `close()`. */
export function occupyPort(): Promise<{ port: number; close(): Promise<void> }> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      resolve({ port, close: () => new Promise<void>((done) => server.close(() => done())) });
    });
  });
}

export interface HttpResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

export function httpGet(port: number, urlPath: string): Promise<HttpResponse> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: urlPath, timeout: 5000, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (s: string) => (body += s));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${urlPath} timed out`)));
    req.on('error', reject);
  });
}

/** Polls `probe` until it returns a value (not undefined) or the deadline passes (then throws). */
export async function pollUntil<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting for ${what}${lastError ? ` (last error: ${(lastError as Error).message})` : ''}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Starts `serve` (or `args`) on a free port and waits until GET /health answers 200. Fails early with
 * the process output if it exits instead.
 */
export async function startServe(env: CliEnv, args = ['serve']): Promise<{ cli: RunningCli; port: number; health: HttpResponse }> {
  const port = await freePort();
  const cli = startCli(args, { env: { BILBYCAST_HOST: '127.0.0.1', BILBYCAST_LOG_FORMAT: 'json', ...env, BILBYCAST_PORT: String(port) } });
  const health = await pollUntil(`GET /health on port ${port}`, async () => {
    if (cli.hasExited) throw new ExitedEarly(cli);
    const res = await httpGet(port, '/health').catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ECONNREFUSED') return undefined;
      throw err;
    });
    return res?.status === 200 ? res : undefined;
  }).catch((err: unknown) => {
    cli.child.kill('SIGKILL');
    throw err instanceof ExitedEarly ? err : new Error(`${(err as Error).message}\nstdout:\n${cli.stdout}\nstderr:\n${cli.stderr}`);
  });
  return { cli, port, health };
}

class ExitedEarly extends Error {
  constructor(cli: RunningCli) {
    super(`serve exited before answering /health\nstdout:\n${cli.stdout}\nstderr:\n${cli.stderr}`);
  }
}

/** Sends `signal` and waits (bounded) for the exit. */
export async function stopServe(cli: RunningCli, signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 15_000): Promise<CliResult> {
  cli.child.kill(signal);
  return cli.waitForExit(timeoutMs);
}

/** Parsed JSON log lines of a `serve` process (non-JSON lines are kept as `{ raw }`). */
export function logEntries(text: string): Record<string, unknown>[] {
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => {
      try {
        return JSON.parse(line) as Record<string, unknown>;
      } catch {
        return { raw: line };
      }
    });
}

/** `migrate` output as [state, migration] pairs ("applied", "pending" or "reverted"). */
export function migrationLines(stdout: string): [string, string][] {
  return stdout
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => {
      const match = /^(applied|pending|reverted) +(\S+)$/.exec(line);
      if (!match) throw new Error(`not a migration line: ${JSON.stringify(line)}`);
      return [match[1], match[2]];
    });
}

/** Lines of stderr, without blank ones. */
export function stderrLines(result: Pick<CliResult, 'stderr'>): string[] {
  return result.stderr.split('\n').filter((line) => line.trim() !== '');
}

/**
 * The contract for an operator error: exit status 2 (or 1 for a failed operation), exactly
 * one stderr line `bilbycast-manager: <problem>`, no stack frames.
 */
export function expectOneLineError(result: CliResult, status: 1 | 2, problem: RegExp): void {
  expect({ timedOut: result.timedOut, code: result.code, stderr: result.stderr }).toEqual({
    timedOut: false,
    code: status,
    stderr: expect.stringMatching(problem)
  });
  const lines = stderrLines(result);
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(/^bilbycast-manager: \S/);
  expect(result.stderr).not.toMatch(/^\s*at /m);
}

/** Exit 0 within the deadline (the output is shown when it was not). */
export function expectSuccess(result: CliResult): void {
  expect({ timedOut: result.timedOut, code: result.code, stderr: result.stderr, stdout: result.stdout }).toEqual({
    timedOut: false,
    code: 0,
    stderr: expect.any(String),
    stdout: expect.any(String)
  });
}

/** A direct connection to a test database (not through the manager). */
export function openDatabase(database: Pick<TestDatabase, 'kind' | 'url'>): Knex {
  if (database.kind === 'sqlite') {
    return knex({ client: 'better-sqlite3', connection: { filename: database.url.replace(/^sqlite:/, '') }, useNullAsDefault: true });
  }
  return knex({ client: 'mysql2', connection: database.url, pool: { min: 0, max: 2 } });
}

export interface UserRow {
  id: string;
  username: string;
  role: string;
  password_hash: string;
}

/** Every row of the users table, or [] when the table does not exist. */
export async function readUsers(database: Pick<TestDatabase, 'kind' | 'url'>): Promise<UserRow[]> {
  const db = openDatabase(database);
  try {
    if (!(await db.schema.hasTable('users'))) return [];
    return await db('users').select('id', 'username', 'role', 'password_hash').orderBy('username');
  } finally {
    await db.destroy();
  }
}

export async function hasTables(database: Pick<TestDatabase, 'kind' | 'url'>, tables: string[]): Promise<Record<string, boolean>> {
  const db = openDatabase(database);
  try {
    const found: Record<string, boolean> = {};
    for (const table of tables) found[table] = await db.schema.hasTable(table);
    return found;
  } finally {
    await db.destroy();
  }
}
