/**
 * The one place that reads the environment. Everything else receives a Config.
 */
export interface Config {
  host: string;
  port: number;
  publicUrl: string;
  databaseUrl: string;
  /** Comma-separated base64 keys; undefined means "embedded default: use the dev key in the data folder". */
  masterKey: string | undefined;
  adminToken: string | undefined;
  demoShops: boolean;
  logLevel: string;
  /** Requests per second per shop; 0 turns the limit off. */
  rateLimit: number;
  /** How long the core waits for an acquirer before the outcome is in doubt. */
  acquirerTimeoutMs: number;
  /** Where a crashed or in-doubt transaction is first re-inquired, and the back-off cap. */
  inquiryDelayMs: number;
  inquiryMaxDelayMs: number;
}

export const DEFAULT_DATABASE_URL = 'sqlite:./data/ecomgate.db';

function integer(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined || value === '') return fallback;
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 0) throw new Error(`${name} must be a whole number, got "${value}"`);
  return parsed;
}

function flag(value: string | undefined, fallback: boolean): boolean {
  if (value === undefined || value === '') return fallback;
  return !['0', 'false', 'no', 'off'].includes(value.toLowerCase());
}

export function readConfig(env: NodeJS.ProcessEnv = process.env, overrides: Partial<Config> = {}): Config {
  const host = overrides.host ?? env.ECOMGATE_HOST ?? '127.0.0.1';
  const port = overrides.port ?? integer('ECOMGATE_PORT', env.ECOMGATE_PORT, 8080);
  const databaseUrl = overrides.databaseUrl ?? env.ECOMGATE_DATABASE_URL ?? DEFAULT_DATABASE_URL;
  const embedded = databaseUrl.startsWith('sqlite:');
  const publicUrl = (overrides.publicUrl ?? env.ECOMGATE_PUBLIC_URL ?? `http://${host.includes(':') ? `[${host}]` : host}:${port}`).replace(/\/+$/, '');
  return {
    host,
    port,
    publicUrl,
    databaseUrl,
    masterKey: overrides.masterKey ?? (env.ECOMGATE_MASTER_KEY || undefined),
    adminToken: overrides.adminToken ?? (env.ECOMGATE_ADMIN_TOKEN || undefined),
    demoShops: overrides.demoShops ?? flag(env.ECOMGATE_DEMO_SHOPS, embedded),
    logLevel: overrides.logLevel ?? env.ECOMGATE_LOG_LEVEL ?? 'info',
    rateLimit: overrides.rateLimit ?? integer('ECOMGATE_RATE_LIMIT', env.ECOMGATE_RATE_LIMIT, 1000),
    acquirerTimeoutMs: overrides.acquirerTimeoutMs ?? integer('ECOMGATE_ACQUIRER_TIMEOUT_MS', env.ECOMGATE_ACQUIRER_TIMEOUT_MS, 30_000),
    inquiryDelayMs: overrides.inquiryDelayMs ?? integer('ECOMGATE_INQUIRY_DELAY_MS', env.ECOMGATE_INQUIRY_DELAY_MS, 5_000),
    inquiryMaxDelayMs: overrides.inquiryMaxDelayMs ?? integer('ECOMGATE_INQUIRY_MAX_DELAY_MS', env.ECOMGATE_INQUIRY_MAX_DELAY_MS, 600_000),
  };
}
