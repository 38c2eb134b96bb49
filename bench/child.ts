import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { dirname, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { listeningPort } from './proc.js';

/** The repository root (this file runs from dist/bench/). */
export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

const STARTUP_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 10_000;

/** A server running in its own process, listening on a port the kernel chose. */
export interface ServerProcess {
  pid: number;
  url: string;
  stop(): Promise<void>;
}

/** A server process just spawned: `listening` settles when it listens (or fails to start). */
export interface SpawnedServer {
  pid: number;
  listening: Promise<string>;
  stop(): Promise<void>;
}

/**
 * Spawns `node <script> ...args`: the benchmark's other servers (the echo baseline, the graphile-worker
 * peer); the gateway itself starts through the tests' `serve`. The address comes from the server's JSON log
 * line with an `address` field, or from its listening socket in /proc for a server that logs none.
 */
export function spawnServer(name: string, script: string, args: string[], env: NodeJS.ProcessEnv): SpawnedServer {
  const child = spawn(process.execPath, [resolve(repoRoot, script), ...args], { cwd: repoRoot, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const stderrTail: string[] = [];
  createInterface({ input: child.stderr! }).on('line', (line) => {
    stderrTail.push(line);
    if (stderrTail.length > 20) stderrTail.shift();
  });

  const listening = new Promise<string>((resolveUrl, reject) => {
    const finish = (error: Error | undefined, address?: string) => {
      clearInterval(poll);
      clearTimeout(timeout);
      child.off('exit', onExit);
      if (error) reject(error);
      else resolveUrl(address!);
    };
    // stdout must be read to the end whatever it holds, or a chatty server would block on a full pipe.
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const address = addressInLogLine(line);
      if (address) finish(undefined, address);
    });
    const poll = setInterval(() => {
      const port = listeningPort(child.pid!);
      if (port) finish(undefined, `http://127.0.0.1:${port}`);
    }, 50);
    const timeout = setTimeout(
      () => finish(new Error(`${name} did not listen within ${STARTUP_TIMEOUT_MS} ms\n${stderrTail.join('\n')}`)),
      STARTUP_TIMEOUT_MS,
    );
    const onExit = (code: number | null) => finish(new Error(`${name} exited (${code}) before listening\n${stderrTail.join('\n')}`));
    child.on('exit', onExit);
  });
  // Whoever does not wait for the address must not get an unhandled rejection.
  listening.catch(() => {});
  return { pid: child.pid!, listening, stop: () => stopChild(child) };
}

/** Spawns a server and answers once it listens; a server that fails to start is stopped. */
export async function startServer(name: string, script: string, args: string[], env: NodeJS.ProcessEnv): Promise<ServerProcess> {
  const spawned = spawnServer(name, script, args, env);
  try {
    return { pid: spawned.pid, url: await spawned.listening, stop: spawned.stop };
  } catch (error) {
    await spawned.stop();
    throw error;
  }
}

function addressInLogLine(line: string): string | undefined {
  if (!line.startsWith('{')) return undefined;
  try {
    const record = JSON.parse(line) as { msg?: string; address?: string };
    return record.msg?.endsWith('listening') && record.address ? record.address : undefined;
  } catch {
    return undefined;
  }
}

/** Graceful stop (SIGTERM), then SIGKILL to this child only if it hangs. */
async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
  await exited;
  clearTimeout(timer);
}
