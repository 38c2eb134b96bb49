import type { FastifyInstance } from 'fastify';
import type { DestinationStream, Logger } from 'pino';
import { AcquirerRegistry } from './acquirers/registry.js';
import { SandboxAcquirer } from './acquirers/sandbox.js';
import { AsyncMetrics } from './async/metrics.js';
import { TaskNotifier } from './async/notifier.js';
import { AsyncQueue } from './async/queue.js';
import { TaskWorkers } from './async/workers.js';
import type { Config } from './config.js';
import { buildServer } from './http/server.js';
import { AuthThrottle, createFailureCounter } from './limits/authThrottle.js';
import { Metrics } from './http/metrics.js';
import { createShopRateLimiter } from './limits/sharedRateLimit.js';
import { registerInDoubtGauge } from './processing/inDoubt.js';
import { chooseLogFormat, createLogger } from './logger.js';
import { seedDemoShops, ShopService, warnIfDemoShopsExposed } from './operator/shops.js';
import type { ProcessingContext } from './processing/context.js';
import { resolveInDoubt } from './processing/resolver.js';
import { expireIncomplete } from './processing/expiry.js';
import { migrate, openStore, type Store } from './store/db.js';
import { isStoreUnavailable } from './domain/faults.js';
import { pingStore } from './store/health.js';
import { sendNotify } from './store/notify.js';
import { registerQueryCounters } from './store/queryCounts.js';
import { masterKeysFor } from './vault/keys.js';
import { restampLegacyCards } from './vault/restamp.js';
import { Vault } from './vault/vault.js';
import { WebhookMetrics } from './webhooks/metrics.js';
import { DeliveryWorkers } from './webhooks/workers.js';
import { PeriodicJob } from './workers/periodicJob.js';

export interface AppOptions {
  config: Config;
  /** Injected clock (tests move time: retention, expiry, in-doubt back-off). */
  now?: () => Date;
  sleep?: (ms: number) => Promise<void>;
  logDestination?: DestinationStream;
  /** PostgreSQL schema to use (tests isolate themselves with one). */
  schema?: string;
  /** Run the in-doubt resolver and the async sweeper on timers (default on). Tests drive them by hand. */
  backgroundWork?: boolean;
  /** Run the async task workers (default: as backgroundWork). */
  asyncWorkers?: boolean;
  /** Run the webhook delivery workers (default: as backgroundWork). */
  webhookDelivery?: boolean;
  /** Jitter of the webhook retry schedule, like Math.random (tests fix it). */
  random?: () => number;
}

export interface App {
  config: Config;
  store: Store;
  vault: Vault;
  shops: ShopService;
  ctx: ProcessingContext;
  server: FastifyInstance;
  log: Logger;
  metrics: Metrics;
  /** One pass of the in-doubt resolver; answers how many transactions it settled. */
  resolveInDoubt(): Promise<number>;
  /** One pass of the expiry sweeper: `incomplete` transactions past their expiry become `expired`. */
  expireIncomplete(): Promise<number>;
  asyncQueue: AsyncQueue;
  workers: TaskWorkers;
  /** Webhook delivery workers; drain() attempts every delivery due now (tests). */
  webhooks: DeliveryWorkers;
  listen(): Promise<string>;
  close(): Promise<void>;
}

const RESOLVER_INTERVAL_MS = 1000;
const SWEEPER_INTERVAL_MS = 60_000;
const EXPIRY_INTERVAL_MS = 10_000;

const STARTUP_RETRY_FIRST_MS = 250;
const STARTUP_RETRY_MAX_MS = 10_000;

/**
 * `serve` started while the database cannot be reached (it is still starting, or restarting) waits for it
 * with back-off, saying so at the level a later outage is logged at (warn), instead of exiting: the same
 * outage should not crash a process at start that it merely slows down later. Other faults still stop it.
 */
async function untilStoreReachable<T>(work: () => Promise<T>, log: Logger): Promise<T> {
  for (let attempt = 1, delayMs = STARTUP_RETRY_FIRST_MS; ; attempt++, delayMs = Math.min(delayMs * 2, STARTUP_RETRY_MAX_MS)) {
    try {
      return await work();
    } catch (err) {
      if (!isStoreUnavailable(err)) throw err;
      log.warn(
        { attempt, retry_in_ms: delayMs, reason: err instanceof Error ? err.message : String(err) },
        'database unavailable at startup; retrying',
      );
      await new Promise((resolve) => setTimeout(resolve, delayMs));
    }
  }
}

/**
 * Keys, migrations, vault, acquirers and shops; `waitForStore` retries an unreachable database instead of
 * failing (serve).
 */
export async function openApp(store: Store, options: AppOptions, log: Logger, waitForStore = false) {
  const { config } = options;
  // Keys first: PostgreSQL without ECOMGATE_MASTER_KEY must refuse before touching the database.
  const keys = masterKeysFor(config.masterKey, config.store, log);
  await (waitForStore ? untilStoreReachable(() => migrate(store), log) : migrate(store));
  const vault = await Vault.open(store, keys);
  const restamped = await restampLegacyCards(store, vault);
  if (restamped) log.info({ cards: restamped }, "cards stored with installation-wide stamps now carry their shop's own");
  const now = options.now ?? (() => new Date());
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const acquirers = new AcquirerRegistry([new SandboxAcquirer({ store, now, sleep })]);
  const shops = new ShopService(store, vault, now, acquirers.names);
  return { vault, shops, now, acquirers };
}

export async function createApp(options: AppOptions): Promise<App> {
  const { config } = options;
  // A destination handed in (tests) is no terminal; without one the logs go to stdout.
  const isTerminal = options.logDestination === undefined && process.stdout.isTTY === true;
  const log = createLogger(config.logLevel, options.logDestination, chooseLogFormat(config.logFormat, isTerminal));
  const role = config.role;
  const store = await openStore({ url: config.databaseUrl, schema: options.schema, namedStatements: config.namedStatements });
  const { vault, shops, now, acquirers } = await openApp(store, options, log, true);
  if (config.demoShops) await seedDemoShops(shops, log);
  // Follows the bound address once listening when no public URL was configured (port 0).
  let publicUrl = config.publicUrl;
  const ctx: ProcessingContext = {
    store,
    vault,
    now,
    get publicUrl() {
      return publicUrl;
    },
    acquirerTimeoutMs: config.acquirerTimeoutMs,
    inquiryDelayMs: config.inquiryDelayMs,
    inquiryMaxDelayMs: config.inquiryMaxDelayMs,
    renotifyLimit: { count: config.renotifyLimit, windowMs: config.renotifyWindowMs },
    acquirerFor: (shop) => acquirers.connectorFor(shop),
    cardGuard: {
      windowMs: config.cardGuardWindowMs,
      maxNumbers: config.cardGuardMaxNumbers,
      // No card data here: the shop, and where the operator looks.
      onRefused: (shopId) => {
        metrics.cardEnumerationRefused.inc({ shop: String(shopId) });
        log.warn(
          { shop: shopId, window_seconds: Math.round(config.cardGuardWindowMs / 1000) },
          'card guard refused a request: many different card numbers with the same shown digits (GET /admin/alerts)',
        );
      },
    },
  };
  const metrics = new Metrics();
  // The store's counters before any gauge that queries the store: a scrape reports the counts as they
  // stood when it began. A collect runs synchronously up to its first wait, and a named statement on
  // SQLite is counted right there, so a gauge registered first would count its own query into the scrape.
  registerQueryCounters(metrics.registry, store.queryCounts);
  registerInDoubtGauge(metrics.registry, store, now, config.inDoubtDeadlineMs);
  const readiness = async () => {
    await pingStore(store);
    return true;
  };
  const asyncMetrics = new AsyncMetrics(metrics.registry, store, now);
  const shopOf = (id: number) => shops.find(id);
  const workers = new TaskWorkers({
    ctx,
    shopOf,
    log,
    metrics: asyncMetrics,
    concurrency: config.asyncConcurrency,
    leaseMs: config.asyncLeaseMs,
    pollMs: config.asyncPollMs,
    onResult: (statusCode, body) => metrics.countAnswer(statusCode, body),
  });
  let notifier: TaskNotifier | undefined;
  if (store.dialect === 'postgres') {
    notifier = new TaskNotifier(config.store.target, () => sendNotify(store, TaskNotifier.notifyStatement), log);
  }
  const asyncQueue = new AsyncQueue({
    ctx,
    metrics: asyncMetrics,
    retentionMs: config.asyncRetentionMs,
    maxQueued: config.asyncMaxQueued,
    maxQueuedPerShop: config.asyncMaxQueuedPerShop,
    onSubmitted: () => {
      workers.wake();
      notifier?.poke();
    },
  });
  const webhooks = new DeliveryWorkers({
    store,
    vault,
    now,
    random: options.random ?? Math.random,
    log,
    metrics: new WebhookMetrics(metrics.registry, store),
    concurrency: config.webhookConcurrency,
    hostConcurrency: config.webhookHostConcurrency,
    timeoutMs: config.webhookTimeoutMs,
    pollMs: config.webhookPollMs,
    retentionMs: config.webhookRetentionMs,
    allowPrivate: config.webhookAllowPrivate,
  });
  const rateLimiter = createShopRateLimiter({
    perSecond: config.rateLimit,
    dialect: store.dialect,
    databaseTarget: config.store.target,
    role,
    redisUrl: config.redisUrl,
    schema: options.schema,
    log,
  });
  const authThrottle = new AuthThrottle({
    limitPerAddress: config.authFailureLimit,
    limitPerShop: config.authFailureLimitPerShop,
    windowMs: config.authFailureWindowMs,
    counter: createFailureCounter(store, config.authFailureWindowMs),
    now: () => now().getTime(),
    log,
    metrics,
  });
  const server = await buildServer(
    {
      ctx,
      shops,
      metrics,
      rateLimiter,
      authThrottle,
      adminToken: config.adminToken,
      asyncQueue,
      webhooks,
      inDoubtDeadlineMs: config.inDoubtDeadlineMs,
    },
    log,
    readiness,
    config,
    { merchantRoutes: role !== 'worker' },
  );
  if (!config.adminToken) log.info('admin API closed: set ECOMGATE_ADMIN_TOKEN to open /admin');

  const resolver = new PeriodicJob({
    name: 'in-doubt resolver',
    intervalMs: RESOLVER_INTERVAL_MS,
    log,
    run: async () => {
      const settled = await resolveInDoubt(ctx, shopOf);
      if (settled) metrics.inDoubtResolved.inc(settled);
      return settled;
    },
  });
  const expiry = new PeriodicJob({ name: 'expiry sweeper', intervalMs: EXPIRY_INTERVAL_MS, log, run: () => expireIncomplete(ctx) });
  const jobs = [
    resolver,
    expiry,
    new PeriodicJob({ name: 'async result sweeper', intervalMs: SWEEPER_INTERVAL_MS, log, run: () => asyncQueue.purgeExpired() }),
    new PeriodicJob({ name: 'webhook retention sweeper', intervalMs: SWEEPER_INTERVAL_MS, log, run: () => webhooks.purgeFinished() }),
  ];
  // --role api: HTTP only. Its submits still wake the other processes' workers (NOTIFY after commit).
  const background = role !== 'api' && options.backgroundWork !== false;
  const runAsyncWorkers = role !== 'api' && (options.asyncWorkers ?? options.backgroundWork !== false);
  const runWebhookDelivery = role !== 'api' && (options.webhookDelivery ?? options.backgroundWork !== false);
  if (background) for (const job of jobs) job.start();
  if (runAsyncWorkers) {
    await notifier?.listen(() => workers.wake(), { schema: options.schema });
    workers.start();
  }
  if (runWebhookDelivery) webhooks.start();
  log.info({ role, asyncWorkers: runAsyncWorkers, webhookDelivery: runWebhookDelivery, resolver: background }, 'ecomgate role');

  return {
    config,
    store,
    vault,
    shops,
    ctx,
    server,
    log,
    metrics,
    resolveInDoubt: () => resolver.runNow(),
    expireIncomplete: () => expiry.runNow(),
    asyncQueue,
    workers,
    webhooks,
    async listen() {
      const address = await server.listen({ host: config.host, port: config.port });
      if (config.publicUrlFromAddress) publicUrl = address;
      log.info({ address, store: store.location, publicUrl }, 'ecomgate listening');
      if (config.demoShops) warnIfDemoShopsExposed(config.host, log);
      return address;
    },
    /** Graceful: stop accepting, let in-flight requests finish, then close the store. */
    async close() {
      const jobsStopped = Promise.all(jobs.map((job) => job.stop()));
      await server.close();
      await workers.stop();
      await webhooks.stop();
      await jobsStopped;
      await notifier?.close();
      await rateLimiter.close?.();
      await store.close();
    },
  };
}
