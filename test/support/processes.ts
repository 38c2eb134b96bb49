import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import SqliteDatabase from 'better-sqlite3';
import pg from 'pg';
import { within } from './deadline.js';
import { POSTGRES_URL, type StoreKind } from './gateway.js';

/**
 * Gateways as real child processes (`ecomgate serve`), for the tests that kill, restart or run several of
 * them: crash recovery, roles, the chaos suite.
 */

export const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
export const PROCESS_ADMIN_TOKEN = 'process-test-admin-token';

/** Our environment without any ECOMGATE_* setting, plus the given ones (`undefined` leaves a variable out). */
export function childEnv(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('ECOMGATE_')));
  for (const [name, value] of Object.entries(extra)) {
    if (value === undefined) delete env[name];
    else env[name] = value;
  }
  return env;
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs one `ecomgate` command (in `childEnv(env)`) to its end. */
export function runCli(args: string[], env: Record<string, string | undefined> = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { env: childEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** A store of its own for one test: a temporary SQLite file, or a fresh PostgreSQL schema. */
export interface ScratchDatabase {
  url: string;
  /** The SQLite file's folder (SQLite only). */
  dir?: string;
  /** Runs a query with `?` placeholders (SQLite: once no gateway has the file open any more). */
  rows(query: string, ...params: unknown[]): Promise<Record<string, any>[]>;
  close(): Promise<void>;
}

export async function scratchDatabase(kind: StoreKind, via?: (url: string) => string): Promise<ScratchDatabase> {
  if (kind === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'ecomgate-process-'));
    const file = join(dir, 'ecomgate.db');
    let connection: SqliteDatabase.Database | undefined;
    return {
      url: `sqlite:${file}`,
      dir,
      // Opened only once the last gateway has stopped: between a kill and the restart nobody touches the
      // file, so the restart recovers the WAL exactly as after a real crash.
      async rows(query, ...params) {
        connection ??= new SqliteDatabase(file, { readonly: true });
        return connection.prepare(query).all(...params) as Record<string, any>[];
      },
      async close() {
        connection?.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  }
  const schema = `proc_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: POSTGRES_URL });
  await admin.connect();
  await admin.query(`create schema ${schema}`);
  await admin.query(`set search_path to ${schema}`);
  const base = via ? via(POSTGRES_URL) : POSTGRES_URL;
  const separator = base.includes('?') ? '&' : '?';
  return {
    url: `${base}${separator}options=${encodeURIComponent(`-c search_path=${schema}`)}`,
    async rows(query, ...params) {
      let n = 0;
      const text = query.replace(/\?/g, () => `$${++n}`);
      return (await admin.query(text, params)).rows;
    },
    async close() {
      await admin.query(`drop schema if exists ${schema} cascade`);
      await admin.end();
    },
  };
}

export interface ServeProcess {
  proc: ChildProcess;
  /** Where it listens (its own address: port 0 lets the kernel pick). */
  url: string;
  /** Everything it wrote, one entry per line (stderr prefixed). */
  lines: string[];
  exited: Promise<unknown>;
}

/** A `serve` process just spawned: `listening` settles with its address (or fails when it cannot start). */
export type SpawnedServe = Omit<ServeProcess, 'url'> & { listening: Promise<string> };

export interface ServeOptions {
  databaseUrl: string;
  masterKey: string;
  /** Extra `serve` flags (`--role worker`). */
  args?: string[];
  /** Settings over the defaults below; `undefined` leaves one out (a default included). */
  env?: Record<string, string | undefined>;
  /** How long it may take to listen (default 15 s). */
  startMs?: number;
  /**
   * Where it listens, found another way than its "listening" log line (which a log level above info does
   * not write): the port of process `pid`, or undefined while it has none. Polled every 50 ms.
   */
  portOf?: (pid: number) => number | undefined;
}

/** The ECOMGATE_* settings `serve` starts a gateway with (for `runCli(['serve', ...], ...)` where it must not start). */
export function serveSettings(options: Pick<ServeOptions, 'databaseUrl' | 'masterKey' | 'env'>): Record<string, string | undefined> {
  return {
    ECOMGATE_HOST: '127.0.0.1',
    ECOMGATE_PORT: '0',
    ECOMGATE_DATABASE_URL: options.databaseUrl,
    ECOMGATE_MASTER_KEY: options.masterKey,
    ECOMGATE_ADMIN_TOKEN: PROCESS_ADMIN_TOKEN,
    ECOMGATE_DEMO_SHOPS: '1',
    ECOMGATE_RATE_LIMIT: '0',
    ECOMGATE_AUTH_FAILURE_LIMIT: '0',
    ECOMGATE_AUTH_FAILURE_LIMIT_PER_SHOP: '0',
    // The tests' webhook receivers listen on loopback.
    ECOMGATE_WEBHOOK_ALLOW_PRIVATE: '1',
    ECOMGATE_LOG_LEVEL: 'info',
    ...options.env,
  };
}

/** Spawns `ecomgate serve` in a scratch working directory; `listening` waits for it to listen. */
export function spawnServe(options: ServeOptions): SpawnedServe {
  const env = childEnv(serveSettings(options));
  // Nothing may land in the repository's ./data.
  const cwd = mkdtempSync(join(tmpdir(), 'ecomgate-process-cwd-'));
  const proc = spawn(process.execPath, [CLI, 'serve', ...(options.args ?? [])], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = once(proc, 'exit').finally(() => rmSync(cwd, { recursive: true, force: true }));
  const lines: string[] = [];
  let pending = '';
  let address: string | undefined;
  let listened: (url: string) => void;
  const listeningAt = new Promise<string>((resolve) => (listened = resolve));
  const found = (url: string) => {
    address = url;
    listened(url);
  };
  proc.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    pending += chunk;
    for (let end = pending.indexOf('\n'); end >= 0; end = pending.indexOf('\n')) {
      const line = pending.slice(0, end);
      pending = pending.slice(end + 1);
      lines.push(line);
      // Once it listens, lines are only kept: a benchmark's load generator must not parse them.
      if (address !== undefined) continue;
      try {
        const entry = JSON.parse(line);
        if (entry.msg === 'ecomgate listening') found(entry.address);
      } catch {
        // not a log line
      }
    }
  });
  proc.stderr!.setEncoding('utf8').on('data', (chunk: string) => lines.push(`stderr: ${chunk}`));
  const { portOf } = options;
  const poll = portOf
    ? setInterval(() => {
        const port = portOf(proc.pid!);
        if (port !== undefined) found(`http://127.0.0.1:${port}`);
      }, 50)
    : undefined;
  const startMs = options.startMs ?? 15_000;
  const listening = within(
    Promise.race([
      listeningAt,
      exited.then(() => {
        throw new Error(`gateway exited before listening:\n${lines.join('\n')}`);
      }),
    ]),
    startMs,
    () => `gateway did not start in ${startMs} ms:\n${lines.join('\n')}`,
  ).finally(() => clearInterval(poll));
  // Whoever does not wait for the address must not get an unhandled rejection.
  listening.catch(() => {});
  return { proc, lines, exited, listening };
}

/** Starts `ecomgate serve` and waits until it listens; one that cannot start is killed. */
export async function serve(options: ServeOptions): Promise<ServeProcess> {
  const { listening, ...spawned } = spawnServe(options);
  const url = await listening.catch(async (error: unknown) => {
    spawned.proc.kill('SIGKILL');
    throw error;
  });
  return { ...spawned, url };
}

export function isRunning(gateway: Pick<ServeProcess, 'proc'>): boolean {
  return gateway.proc.exitCode === null && gateway.proc.signalCode === null;
}

/** SIGKILL: no shutdown hook runs, exactly as after a crash. */
export async function kill(gateway: Pick<ServeProcess, 'proc' | 'exited'>): Promise<void> {
  if (!isRunning(gateway)) return;
  gateway.proc.kill('SIGKILL');
  await gateway.exited;
}

/** Graceful stop (SIGTERM), SIGKILL if it hangs for 10 s; answers whether it stopped by itself. */
export async function terminate(gateway: Pick<ServeProcess, 'proc' | 'exited'>): Promise<boolean> {
  if (!isRunning(gateway)) return true;
  gateway.proc.kill('SIGTERM');
  const stopped = await within(gateway.exited, 10_000, () => 'no exit').then(
    () => true,
    () => false,
  );
  if (!stopped) await kill(gateway);
  return stopped;
}

/** Graceful stop; asserts it stopped within 10 s of SIGTERM. */
export async function stop(gateway: Pick<ServeProcess, 'proc' | 'exited'>): Promise<void> {
  assert.ok(await terminate(gateway), 'the gateway stops within 10 s of SIGTERM');
}
