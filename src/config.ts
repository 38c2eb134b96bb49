import ipaddr from 'ipaddr.js';
import { LOG_FORMATS, type LogFormat } from './logger.js';
import { type Dialect, parseStoreUrl } from './store/db.js';
/**
 * The one place that reads the environment. Everything else receives a Config.
 */
export interface Config {
  host: string;
  port: number;
  publicUrl: string;
  /** No public URL was configured: it follows the address the server actually listens on (port 0). */
  publicUrlFromAddress: boolean;
  databaseUrl: string;
  /** `databaseUrl` parsed once: which store, and its file or connection string. */
  store: { dialect: Dialect; target: string };
  /** PostgreSQL: named prepared statements (off behind a pooler that cannot carry them; docs/performance.md). */
  namedStatements: boolean;
  /** Comma-separated base64 keys; undefined means "embedded default: use the dev key in the data folder". */
  masterKey: string | undefined;
  adminToken: string | undefined;
  demoShops: boolean;
  logLevel: string;
  /** ECOMGATE_LOG_FORMAT: json or pretty; unset, readable on a terminal and JSON elsewhere (logger.ts). */
  logFormat: LogFormat | undefined;
  /** Requests per second per shop; 0 turns the limit off. */
  rateLimit: number;
  /** How long the core waits for an acquirer before the outcome is in doubt. */
  acquirerTimeoutMs: number;
  /** Where a crashed or in-doubt transaction is first re-inquired, and the back-off cap. */
  inquiryDelayMs: number;
  inquiryMaxDelayMs: number;
  /** How long a 200 async result stays readable (ECOMGATE_ASYNC_RETENTION: seconds, or 30m / 24h / 2d). */
  asyncRetentionMs: number;
  /** Back-pressure: unfinished async tasks in all, and per shop, before a submit answers 429. */
  asyncMaxQueued: number;
  asyncMaxQueuedPerShop: number;
  /** Async tasks in flight per process (they mostly wait on banks). */
  asyncConcurrency: number;
  /** A claimed task's lease; a dead worker's task is taken over after it (default: acquirer timeout + 30 s). */
  asyncLeaseMs: number;
  /** Worker fallback poll when no wake-up signal came. */
  asyncPollMs: number;
  /** A webhook receiver that has not answered by then has failed the attempt. */
  webhookTimeoutMs: number;
  /** How long a finished webhook delivery (and its attempts) is kept for the admin history (ECOMGATE_WEBHOOK_RETENTION). */
  webhookRetentionMs: number;
  /**
   * Deliver webhooks to loopback and private networks (ECOMGATE_WEBHOOK_ALLOW_PRIVATE). On by default with
   * the embedded SQLite store (a developer's receiver on localhost), off with PostgreSQL (production: a
   * merchant's notification_url must not reach the operator's own network).
   */
  webhookAllowPrivate: boolean;
  /** Webhook attempts in flight per process, and per receiving host (one dead host cannot take every slot). */
  webhookConcurrency: number;
  webhookHostConcurrency: number;
  /** How often the delivery workers look for due deliveries (new ones and retries coming due). */
  webhookPollMs: number;
  /** What `serve` runs (ECOMGATE_ROLE / --role): all, api (HTTP only) or worker (background work only). */
  role: Role;
  /** Shared per-shop rate limit in Redis when set (ECOMGATE_REDIS_URL); else the database on PostgreSQL. */
  redisUrl: string | undefined;
  /** A transaction still pending/processing this long after its creation is flagged for the operator. */
  inDoubtDeadlineMs: number;
  /** The card guard: at most this many different numbers showing the same digits per shop within the window (0: off). */
  cardGuardMaxNumbers: number;
  cardGuardWindowMs: number;
  /** Renotify deliveries queued per transaction within `renotifyWindowMs`; more answer 429 (ECOMGATE_RENOTIFY_LIMIT). */
  renotifyLimit: number;
  renotifyWindowMs: number;
  /** The whole request (headers and body) must arrive within this, else 408 (ECOMGATE_REQUEST_TIMEOUT). */
  requestTimeoutMs: number;
  /** The request's headers must arrive within this, else 408 (ECOMGATE_HEADERS_TIMEOUT; at most the request timeout). */
  headersTimeoutMs: number;
  /** An idle keep-alive connection is closed after this (ECOMGATE_KEEP_ALIVE_TIMEOUT). */
  keepAliveTimeoutMs: number;
  /** Open client connections at most; more are closed at once (ECOMGATE_MAX_CONNECTIONS; 0: no cap). */
  maxConnections: number;
  /**
   * Addresses or CIDR ranges of the load balancers in front of the gateway (ECOMGATE_TRUST_PROXY). A
   * request from one of them is taken to come from the client its X-Forwarded-For names, so the per-address
   * auth throttle counts clients, not the balancer; from anywhere else the header is ignored (a client
   * cannot pick the address it is counted under).
   */
  trustedProxies: string[];
  /** Failed shop authentications per client address, and per shop id, within the window before 429 (auth.ts). */
  authFailureLimit: number;
  authFailureLimitPerShop: number;
  authFailureWindowMs: number;
}

export type Role = 'all' | 'api' | 'worker';
export const ROLES: readonly Role[] = ['all', 'api', 'worker'];

export const DEFAULT_DATABASE_URL = 'sqlite:./data/ecomgate.db';

function integer(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined || value === '') return fallback;
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 0) throw new Error(`${name} must be a whole number, got "${value}"`);
  return parsed;
}

/** "86400" (seconds), "1500ms", "30s", "30m", "24h", "2d". */
function duration(name: string, value: string | undefined, fallbackMs: number): number {
  if (value === undefined || value === '') return fallbackMs;
  const match = /^(\d+)(ms|s|m|h|d)?$/.exec(value.trim());
  if (!match) throw new Error(`${name} must be a duration such as 86400, 30m or 24h, got "${value}"`);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[match[2] ?? 's']!;
  return Number(match[1]) * unit;
}

/** "10.0.0.5, 10.1.0.0/16, ::1": addresses and CIDR ranges, each checked. */
function addressList(name: string, value: string | undefined): string[] {
  if (value === undefined || value.trim() === '') return [];
  return value.split(',').map((entry) => {
    const text = entry.trim();
    const valid = text.includes('/') ? ipaddr.isValidCIDR(text) : ipaddr.isValid(text);
    if (!valid) throw new Error(`${name} must list IP addresses or CIDR ranges, got "${text}"`);
    return text;
  });
}

function flag(value: string | undefined, fallback: boolean): boolean {
  if (value === undefined || value === '') return fallback;
  return !['0', 'false', 'no', 'off'].includes(value.toLowerCase());
}

function logFormat(value: string | undefined): LogFormat | undefined {
  if (value === undefined || value === '') return undefined;
  if (!LOG_FORMATS.includes(value as LogFormat)) throw new Error(`ECOMGATE_LOG_FORMAT must be one of ${LOG_FORMATS.join(', ')}, got "${value}"`);
  return value as LogFormat;
}

function role(value: string | undefined): Role {
  if (value === undefined || value === '') return 'all';
  if (!ROLES.includes(value as Role)) throw new Error(`ECOMGATE_ROLE must be one of ${ROLES.join(', ')}, got "${value}"`);
  return value as Role;
}

export function readConfig(env: NodeJS.ProcessEnv = process.env, overrides: Partial<Config> = {}): Config {
  const host = overrides.host ?? env.ECOMGATE_HOST ?? '127.0.0.1';
  const port = overrides.port ?? integer('ECOMGATE_PORT', env.ECOMGATE_PORT, 8080);
  const databaseUrl = overrides.databaseUrl ?? env.ECOMGATE_DATABASE_URL ?? DEFAULT_DATABASE_URL;
  const store = parseStoreUrl(databaseUrl);
  const embedded = store.dialect === 'sqlite';
  const serveRole = overrides.role ?? role(env.ECOMGATE_ROLE);
  if (serveRole !== 'all' && embedded) {
    throw new Error(`--role ${serveRole} needs PostgreSQL (ECOMGATE_DATABASE_URL=postgres://...): SQLite is served by one process with role all`);
  }
  const acquirerTimeoutMs = overrides.acquirerTimeoutMs ?? integer('ECOMGATE_ACQUIRER_TIMEOUT_MS', env.ECOMGATE_ACQUIRER_TIMEOUT_MS, 30_000);
  const requestTimeoutMs = overrides.requestTimeoutMs ?? duration('ECOMGATE_REQUEST_TIMEOUT', env.ECOMGATE_REQUEST_TIMEOUT, 30_000);
  const headersTimeoutMs =
    overrides.headersTimeoutMs ?? duration('ECOMGATE_HEADERS_TIMEOUT', env.ECOMGATE_HEADERS_TIMEOUT, Math.min(10_000, requestTimeoutMs));
  // 0 would mean "wait forever": the stalled-request hole these settings close.
  if (requestTimeoutMs <= 0 || headersTimeoutMs <= 0 || headersTimeoutMs > requestTimeoutMs) {
    throw new Error('ECOMGATE_HEADERS_TIMEOUT and ECOMGATE_REQUEST_TIMEOUT must be above 0, the headers timeout at most the request timeout');
  }
  const publicUrl = (overrides.publicUrl ?? env.ECOMGATE_PUBLIC_URL ?? `http://${host.includes(':') ? `[${host}]` : host}:${port}`).replace(
    /\/+$/,
    '',
  );
  return {
    host,
    port,
    publicUrl,
    publicUrlFromAddress: (overrides.publicUrl ?? env.ECOMGATE_PUBLIC_URL) === undefined,
    databaseUrl,
    store,
    namedStatements: overrides.namedStatements ?? flag(env.ECOMGATE_DATABASE_NAMED_STATEMENTS, true),
    masterKey: overrides.masterKey ?? (env.ECOMGATE_MASTER_KEY || undefined),
    adminToken: overrides.adminToken ?? (env.ECOMGATE_ADMIN_TOKEN || undefined),
    demoShops: overrides.demoShops ?? flag(env.ECOMGATE_DEMO_SHOPS, embedded),
    logLevel: overrides.logLevel ?? env.ECOMGATE_LOG_LEVEL ?? 'info',
    logFormat: 'logFormat' in overrides ? overrides.logFormat : logFormat(env.ECOMGATE_LOG_FORMAT),
    rateLimit: overrides.rateLimit ?? integer('ECOMGATE_RATE_LIMIT', env.ECOMGATE_RATE_LIMIT, 1000),
    acquirerTimeoutMs,
    inquiryDelayMs: overrides.inquiryDelayMs ?? integer('ECOMGATE_INQUIRY_DELAY_MS', env.ECOMGATE_INQUIRY_DELAY_MS, 5_000),
    inquiryMaxDelayMs: overrides.inquiryMaxDelayMs ?? integer('ECOMGATE_INQUIRY_MAX_DELAY_MS', env.ECOMGATE_INQUIRY_MAX_DELAY_MS, 600_000),
    asyncRetentionMs: overrides.asyncRetentionMs ?? duration('ECOMGATE_ASYNC_RETENTION', env.ECOMGATE_ASYNC_RETENTION, 24 * 3_600_000),
    asyncMaxQueued: overrides.asyncMaxQueued ?? integer('ECOMGATE_ASYNC_MAX_QUEUED', env.ECOMGATE_ASYNC_MAX_QUEUED, 100_000),
    asyncMaxQueuedPerShop:
      overrides.asyncMaxQueuedPerShop ?? integer('ECOMGATE_ASYNC_MAX_QUEUED_PER_SHOP', env.ECOMGATE_ASYNC_MAX_QUEUED_PER_SHOP, 100_000),
    asyncConcurrency: overrides.asyncConcurrency ?? integer('ECOMGATE_ASYNC_CONCURRENCY', env.ECOMGATE_ASYNC_CONCURRENCY, 3000),
    asyncLeaseMs: overrides.asyncLeaseMs ?? integer('ECOMGATE_ASYNC_LEASE_MS', env.ECOMGATE_ASYNC_LEASE_MS, acquirerTimeoutMs + 30_000),
    asyncPollMs: overrides.asyncPollMs ?? integer('ECOMGATE_ASYNC_POLL_MS', env.ECOMGATE_ASYNC_POLL_MS, 1000),
    webhookTimeoutMs: overrides.webhookTimeoutMs ?? integer('ECOMGATE_WEBHOOK_TIMEOUT_MS', env.ECOMGATE_WEBHOOK_TIMEOUT_MS, 10_000),
    webhookRetentionMs: overrides.webhookRetentionMs ?? duration('ECOMGATE_WEBHOOK_RETENTION', env.ECOMGATE_WEBHOOK_RETENTION, 30 * 86_400_000),
    webhookAllowPrivate: overrides.webhookAllowPrivate ?? flag(env.ECOMGATE_WEBHOOK_ALLOW_PRIVATE, embedded),
    webhookConcurrency: overrides.webhookConcurrency ?? integer('ECOMGATE_WEBHOOK_CONCURRENCY', env.ECOMGATE_WEBHOOK_CONCURRENCY, 256),
    webhookHostConcurrency:
      overrides.webhookHostConcurrency ?? integer('ECOMGATE_WEBHOOK_HOST_CONCURRENCY', env.ECOMGATE_WEBHOOK_HOST_CONCURRENCY, 8),
    webhookPollMs: overrides.webhookPollMs ?? integer('ECOMGATE_WEBHOOK_POLL_MS', env.ECOMGATE_WEBHOOK_POLL_MS, 1000),
    role: serveRole,
    redisUrl: overrides.redisUrl ?? (env.ECOMGATE_REDIS_URL || undefined),
    inDoubtDeadlineMs: overrides.inDoubtDeadlineMs ?? duration('ECOMGATE_IN_DOUBT_DEADLINE', env.ECOMGATE_IN_DOUBT_DEADLINE, 24 * 3_600_000),
    cardGuardMaxNumbers: overrides.cardGuardMaxNumbers ?? integer('ECOMGATE_CARD_GUARD_MAX_NUMBERS', env.ECOMGATE_CARD_GUARD_MAX_NUMBERS, 5),
    cardGuardWindowMs: overrides.cardGuardWindowMs ?? duration('ECOMGATE_CARD_GUARD_WINDOW', env.ECOMGATE_CARD_GUARD_WINDOW, 10 * 60_000),
    renotifyLimit: overrides.renotifyLimit ?? integer('ECOMGATE_RENOTIFY_LIMIT', env.ECOMGATE_RENOTIFY_LIMIT, 10),
    renotifyWindowMs: overrides.renotifyWindowMs ?? duration('ECOMGATE_RENOTIFY_WINDOW', env.ECOMGATE_RENOTIFY_WINDOW, 3_600_000),
    requestTimeoutMs,
    headersTimeoutMs,
    keepAliveTimeoutMs: overrides.keepAliveTimeoutMs ?? duration('ECOMGATE_KEEP_ALIVE_TIMEOUT', env.ECOMGATE_KEEP_ALIVE_TIMEOUT, 5_000),
    maxConnections: overrides.maxConnections ?? integer('ECOMGATE_MAX_CONNECTIONS', env.ECOMGATE_MAX_CONNECTIONS, 10_000),
    trustedProxies: overrides.trustedProxies ?? addressList('ECOMGATE_TRUST_PROXY', env.ECOMGATE_TRUST_PROXY),
    authFailureLimit: overrides.authFailureLimit ?? integer('ECOMGATE_AUTH_FAILURE_LIMIT', env.ECOMGATE_AUTH_FAILURE_LIMIT, 20),
    authFailureLimitPerShop:
      overrides.authFailureLimitPerShop ?? integer('ECOMGATE_AUTH_FAILURE_LIMIT_PER_SHOP', env.ECOMGATE_AUTH_FAILURE_LIMIT_PER_SHOP, 100),
    authFailureWindowMs: overrides.authFailureWindowMs ?? duration('ECOMGATE_AUTH_FAILURE_WINDOW', env.ECOMGATE_AUTH_FAILURE_WINDOW, 60_000),
  };
}
