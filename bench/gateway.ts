import { randomBytes } from 'node:crypto';
import { withinBudget } from './budget.js';
import { type ServeOptions, serve, spawnServe, terminate } from '../test/support/processes.js';
import type { ServerProcess, SpawnedServer } from './child.js';
import type { StoreKind } from './options.js';
import { paths } from './payments.js';
import { authHeaders, type Credentials } from '../test/support/http.js';
import { listeningPort } from './proc.js';
import { sleep } from './stats.js';
import { type BenchStore, createStore, type TaskLog } from './stores.js';

/**
 * A gateway process on a benchmark store, started by the tests' own `serve` launcher and configured as
 * the benchmark needs: loopback, a port the kernel picks, the demo shop, no rate limit, and log level warn
 * (at info it writes one line per request, which would be measured too).
 */
export interface Gateway {
  server: ServerProcess;
  store: BenchStore;
  adminToken: string;
  stop(): Promise<void>;
}

/** Settings a scenario changes on top of the benchmark's configuration (ECOMGATE_* variables). */
export type GatewaySettings = Record<string, string>;

function serveOptions(store: BenchStore, adminToken: string, settings: GatewaySettings, args: string[] = []): ServeOptions {
  return {
    databaseUrl: store.url,
    masterKey: store.masterKey,
    args,
    env: {
      // What the tests switch off or open up is measured as a deployment has it: at its default.
      ECOMGATE_AUTH_FAILURE_LIMIT: undefined,
      ECOMGATE_AUTH_FAILURE_LIMIT_PER_SHOP: undefined,
      ECOMGATE_WEBHOOK_ALLOW_PRIVATE: undefined,
      ECOMGATE_LOG_LEVEL: 'warn',
      ECOMGATE_ADMIN_TOKEN: adminToken,
      ...settings,
    },
    // A minute, as the benchmark always allowed: it starts gateways on a machine its own load keeps busy.
    startMs: 60_000,
    // At warn the "listening" line is not written.
    portOf: listeningPort,
  };
}

/** Starts `ecomgate serve` (with `serveArgs`, such as `--cluster 2`) on `store` and answers once it listens. */
export async function serveOn(store: BenchStore, settings: GatewaySettings = {}, serveArgs: string[] = []): Promise<Gateway> {
  const adminToken = randomBytes(16).toString('hex');
  const served = await serve(serveOptions(store, adminToken, settings, serveArgs));
  const stop = async () => void (await terminate(served));
  return { server: { pid: served.proc.pid!, url: served.url, stop }, store, adminToken, stop };
}

/** Spawns a gateway on `store` without waiting for it to listen (its workers start before it does). */
export function spawnGateway(store: BenchStore, settings: GatewaySettings = {}): SpawnedServer {
  const spawned = spawnServe(serveOptions(store, randomBytes(16).toString('hex'), settings));
  return { pid: spawned.proc.pid!, listening: spawned.listening, stop: async () => void (await terminate(spawned)) };
}

/** Creates a fresh store, and always drops it after `work`. */
export async function withStore<T>(kind: StoreKind, postgresUrl: string, work: (store: BenchStore) => Promise<T>): Promise<T> {
  const store = await createStore(kind, postgresUrl);
  try {
    return await work(store);
  } finally {
    await store.drop();
  }
}

/** Runs `work` against a gateway started on `store`, and always stops the gateway after. */
export async function withGatewayOn<T>(
  store: BenchStore,
  work: (gateway: Gateway) => Promise<T>,
  settings: GatewaySettings = {},
  serveArgs: string[] = [],
): Promise<T> {
  const gateway = await serveOn(store, settings, serveArgs);
  try {
    return await work(gateway);
  } finally {
    await gateway.stop();
  }
}

/** A gateway on a fresh store of its own, both gone after `work`. */
export function withGateway<T>(
  kind: StoreKind,
  postgresUrl: string,
  work: (gateway: Gateway) => Promise<T>,
  settings: GatewaySettings = {},
  serveArgs: string[] = [],
): Promise<T> {
  return withStore(kind, postgresUrl, (store) => withGatewayOn(store, work, settings, serveArgs));
}

/** Creates a test shop whose sandbox bank waits `latencyMs` on every call (admin API). */
export async function createSlowBankShop(gateway: Gateway, shop: Credentials, latencyMs: number): Promise<void> {
  const response = await fetch(gateway.server.url + paths.adminShops, {
    method: 'POST',
    headers: { authorization: `Bearer ${gateway.adminToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ id: shop.id, secret_key: shop.secret, test: true, acquirer_settings: { latency_ms: latencyMs } }),
  });
  if (response.status !== 201) throw new Error(`creating the slow-bank shop answered ${response.status}: ${await response.text()}`);
}

/** One request through the real API, to check the scenario's traffic is answered as expected before loading it. */
export async function probe(
  gateway: Gateway,
  shop: Credentials,
  method: string,
  path: string,
  body?: string,
): Promise<{ status: number; json: Record<string, unknown> }> {
  const response = await fetch(gateway.server.url + path, { method, headers: authHeaders(shop), body });
  return { status: response.status, json: (await response.json()) as Record<string, unknown> };
}

/** Waits until `expected` async tasks are done; answers false if `timeoutMs` (or the run's budget) passed first. */
export async function waitForTasksDone(store: TaskLog, expected: number, timeoutMs: number): Promise<boolean> {
  const deadline = performance.now() + withinBudget(timeoutMs);
  while (performance.now() < deadline) {
    if ((await store.countDone()) >= expected) return true;
    // A count every 100 ms costs the store little next to what is being measured.
    await sleep(100);
  }
  return false;
}
