/**
 * Where the integrator commands send their requests and as which shop: flags, then ECOMGATE_* variables,
 * then the embedded gateway's defaults (http://127.0.0.1:8080 and the public demo shop 361).
 */

export const DEFAULT_BASE_URL = 'http://127.0.0.1:8080';

/** The public demo shops of the embedded gateway (spec §7): known secrets, so `--shop-id 362` alone works. */
export const DEMO_SECRETS: Record<string, string> = {
  '361': 'b8647b68898b084b836474ed8d61ffe117c9a01168d867f24953b776ddcb134d',
  '362': '9ad8ad735945919845b9a1996af72d886ab43d3375502256dbf8dd16bca59a4e',
};

export interface ConnectionFlags {
  baseUrl?: string;
  shopId?: string;
  secretKey?: string;
  timeout?: string;
}

export interface Connection {
  baseUrl: string;
  shopId: string;
  secretKey: string;
  timeoutMs: number;
}

/** Thrown for bad arguments: reported without a stack, exit status 1. */
export class UsageError extends Error {}

const given = (value: string | undefined): string | undefined => (value === undefined || value.trim() === '' ? undefined : value.trim());

export function baseUrlOf(flags: ConnectionFlags, env: NodeJS.ProcessEnv = process.env): string {
  const baseUrl = given(flags.baseUrl) ?? given(env.ECOMGATE_BASE_URL) ?? DEFAULT_BASE_URL;
  let parsed: URL;
  try {
    parsed = new URL(baseUrl);
  } catch {
    throw new UsageError(`--base-url must be an http(s) URL, got "${baseUrl}"`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new UsageError(`--base-url must be an http(s) URL, got "${baseUrl}"`);
  return baseUrl.replace(/\/+$/, '');
}

export function shopIdOf(flags: ConnectionFlags, env: NodeJS.ProcessEnv = process.env): string {
  const shopId = given(flags.shopId) ?? given(env.ECOMGATE_SHOP_ID) ?? '361';
  if (!/^\d+$/.test(shopId)) throw new UsageError(`--shop-id must be a shop's number, got "${shopId}"`);
  return shopId;
}

export function connectionOf(flags: ConnectionFlags, env: NodeJS.ProcessEnv = process.env): Connection {
  const baseUrl = baseUrlOf(flags, env);
  const shopId = shopIdOf(flags, env);
  const secretKey = given(flags.secretKey) ?? given(env.ECOMGATE_SECRET_KEY) ?? DEMO_SECRETS[shopId];
  if (!secretKey) throw new UsageError(`no secret key for shop ${shopId}: give --secret-key or set ECOMGATE_SECRET_KEY`);
  const timeoutMs = flags.timeout === undefined ? 60_000 : Number(flags.timeout);
  if (!Number.isInteger(timeoutMs) || timeoutMs <= 0) throw new UsageError(`--timeout must be a number of milliseconds, got "${flags.timeout}"`);
  return { baseUrl, shopId, secretKey, timeoutMs };
}

/** Exit statuses of the integrator commands (documented in the README and in `--help`). */
export const EXIT = {
  /** The operation succeeded (or the query answered). */
  ok: 0,
  /** The gateway refused the request (4xx: validation, credentials, unknown uid, duplicate ...) or bad arguments. */
  refused: 1,
  /** A transaction was created and declined: status `failed` or `expired`. */
  declined: 2,
  /** Not final yet: `incomplete` (3-D Secure pending), `pending` (bank outcome unknown), or an async task still running. */
  pending: 3,
  /** No usable answer: connection refused, timeout, 5xx, not JSON. */
  unavailable: 4,
} as const;

export const EXIT_HELP = `
Exit status: 0 successful, 1 refused by the gateway (4xx) or bad arguments, 2 declined (failed or expired),
3 not final yet (incomplete: 3-D Secure pending; pending; async task still running), 4 gateway unavailable
(no answer, timeout, 5xx).
Connection: --base-url / ECOMGATE_BASE_URL (default ${DEFAULT_BASE_URL}), --shop-id / ECOMGATE_SHOP_ID and
--secret-key / ECOMGATE_SECRET_KEY (default: the demo shop 361; the demo shops' secrets are built in).`;
