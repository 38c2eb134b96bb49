import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import pg from 'pg';
import { createApp, type App } from '../../src/app.js';
import { type Config, readConfig } from '../../src/config.js';
import { card } from './cards.js';
import { apiRequest, type Credentials, type HttpAnswer, type RequestOptions } from './http.js';
import { logCapture } from './logCapture.js';
import { DEMO_SHOP } from './shops.js';

// Re-exported: a test gets a gateway and the fixtures it is driven with from one import.
export { card } from './cards.js';
export { connectionLost, type Credentials, exchange, type HttpAnswer, refusedByClient, type RequestOptions } from './http.js';
export { DEMO_3DS_SHOP, DEMO_SHOP } from './shops.js';

export type StoreKind = 'sqlite' | 'postgres';

export const POSTGRES_URL = process.env.ECOMGATE_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/** Every integration test runs on each of these stores (ECOMGATE_TEST_STORES=sqlite narrows it). */
export function testStores(): StoreKind[] {
  const wanted = process.env.ECOMGATE_TEST_STORES;
  return wanted ? (wanted.split(',').map((s) => s.trim()) as StoreKind[]) : ['sqlite', 'postgres'];
}

export const ADMIN_TOKEN = 'test-admin-token';
/** Request options of the operator: the admin token instead of the demo shop's credentials. */
export const AS_OPERATOR: RequestOptions = { auth: { bearer: ADMIN_TOKEN } };

/** A clock the test moves by hand. */
export class TestClock {
  private at: number;
  constructor(start = Date.now()) {
    this.at = start;
  }
  now = (): Date => new Date(this.at);
  advance(ms: number): void {
    this.at += ms;
  }
}

/**
 * The sandbox bank's latency, held by the test: pass `sleep` to startGateway; while held, every call that
 * waits out a latency parks until `open()`, so "the bank is still working" is a fact, not a race against a
 * real sleep. Open (the default), latencies are real sleeps as without it.
 */
export class BankGate {
  private held = false;
  private readonly parked: (() => void)[] = [];

  /** Calls parked at the bank now. */
  get waiting(): number {
    return this.parked.length;
  }

  hold(): void {
    this.held = true;
  }

  /** Lets every parked call answer, and later ones through. */
  open(): void {
    this.held = false;
    for (const release of this.parked.splice(0)) release();
  }

  sleep = (ms: number): Promise<void> => (this.held ? new Promise((resolve) => this.parked.push(resolve)) : delay(ms));
}

export interface TestGateway {
  app: App;
  url: string;
  clock: TestClock;
  logs: string[];
  request(method: string, path: string, body?: unknown, options?: RequestOptions): Promise<HttpAnswer>;
  /** POST with the demo shop's credentials, wrapped in {"request": ...}. */
  post(path: string, request: unknown, options?: RequestOptions): Promise<HttpAnswer>;
  get(path: string, options?: RequestOptions): Promise<HttpAnswer>;
  /** Counts rows of a table (for "nothing stored" checks). */
  count(table: string): Promise<number>;
  /** Where this gateway keeps its data; another gateway can open it again (a restart). */
  database: GatewayDatabase;
  /** Closes the app; with keepDatabase the data stays for a successor (which then owns its removal). */
  close(options?: { keepDatabase?: boolean }): Promise<void>;
}

export interface GatewayDatabase {
  databaseUrl: string;
  schema?: string;
  masterKey: string;
  remove(): Promise<void>;
}

export interface StartOptions {
  /** Run the async task workers in the background (default: off; tests drain the queue by hand). */
  asyncWorkers?: boolean;
  /** How the sandbox bank waits out its latency (a test can hold the bank until it says so). */
  sleep?: (ms: number) => Promise<void>;
  /** Run the webhook delivery workers in the background (default: off; tests drain them by hand). */
  webhookDelivery?: boolean;
  /** Jitter of the webhook retry schedule, like Math.random (tests fix it). */
  random?: () => number;
  /** Restart: open the database of a gateway closed with keepDatabase, instead of a fresh one. */
  reuse?: GatewayDatabase;
  /** The clock to go on with (a restarted gateway keeps its predecessor's time). */
  clock?: TestClock;
}

export async function startGateway(kind: StoreKind, overrides: Partial<Config> = {}, options: StartOptions = {}): Promise<TestGateway> {
  const clock = options.clock ?? new TestClock();
  let cleanup: () => Promise<void>;
  let databaseUrl: string;
  let schema: string | undefined;
  const masterKey = options.reuse?.masterKey ?? randomBytes(32).toString('base64');
  if (options.reuse) {
    ({ databaseUrl, schema, remove: cleanup } = options.reuse);
  } else if (kind === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'ecomgate-test-'));
    databaseUrl = `sqlite:${join(dir, 'ecomgate.db')}`;
    cleanup = async () => rmSync(dir, { recursive: true, force: true });
  } else {
    databaseUrl = POSTGRES_URL;
    schema = `test_${randomBytes(6).toString('hex')}`;
    cleanup = async () => {
      const client = new pg.Client({ connectionString: POSTGRES_URL });
      await client.connect();
      await client.query(`drop schema if exists ${schema} cascade`);
      await client.end();
    };
  }
  const { lines: logs, destination: logDestination } = logCapture();
  const config = readConfig(
    {},
    {
      host: '127.0.0.1',
      port: 0,
      databaseUrl,
      masterKey,
      adminToken: ADMIN_TOKEN,
      demoShops: true,
      logLevel: 'info',
      rateLimit: 0,
      // Tests send wrong credentials on purpose; the failure throttle has tests of its own.
      authFailureLimit: 0,
      authFailureLimitPerShop: 0,
      // The tests' webhook receivers listen on loopback.
      webhookAllowPrivate: true,
      ...overrides,
    },
  );
  const app = await createApp({
    config,
    now: clock.now,
    logDestination,
    schema,
    backgroundWork: false,
    asyncWorkers: options.asyncWorkers ?? false,
    sleep: options.sleep,
    webhookDelivery: options.webhookDelivery ?? false,
    random: options.random,
  });
  const address = await app.listen();
  const url = address;

  const request = (method: string, path: string, body?: unknown, options: RequestOptions = {}): Promise<HttpAnswer> =>
    apiRequest(url, method, path, body, { ...options, auth: options.auth === undefined ? DEMO_SHOP : options.auth });

  return {
    app,
    url,
    clock,
    logs,
    request,
    post: (path, fields, options) => request('POST', path, { request: fields }, options),
    get: (path, options) => request('GET', path, undefined, options),
    async count(table: string) {
      const row = await app.store.db
        .selectFrom(table as never)
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .executeTakeFirstOrThrow();
      return Number((row as { n: number }).n);
    },
    database: { databaseUrl, schema, masterKey, remove: cleanup },
    async close(closeOptions = {}) {
      await app.close();
      if (!closeOptions.keepDatabase) await cleanup();
    },
  };
}

/** Creates a test shop through the operator API and answers its credentials. */
export async function createShop(gw: TestGateway, id: number, fields: Record<string, unknown> = {}): Promise<Credentials> {
  const secret = `secret-of-shop-${id}-0123456789`;
  const answer = await gw.request('POST', '/admin/shops', { id, secret_key: secret, test: true, ...fields }, AS_OPERATOR);
  assert.equal(answer.status, 201, answer.text);
  return { id, secret };
}

let counter = 0;
/** A payment request; amounts differ per call so duplicate_check never trips by accident. */
export function paymentRequest(extra: Record<string, unknown> = {}) {
  counter++;
  return { amount: 1000 + counter, currency: 'EUR', description: 'Order', tracking_id: `order-${counter}`, credit_card: card(), ...extra };
}
