/**
 * HTTP as the tests speak it to a gateway: the merchant's Basic credentials, one request helper, and the
 * answer read once (status, headers, text, JSON when it is JSON).
 */

export interface Credentials {
  id: number;
  secret: string;
}

/**
 * The Authorization value of HTTP Basic credentials: shop id as user, secret key as password. The id may be
 * any string, for the tests of ids the gateway must refuse ('0361', '-361').
 */
export function basicAuth(shop: { id: number | string; secret: string }): string {
  return 'Basic ' + Buffer.from(`${shop.id}:${shop.secret}`).toString('base64');
}

/** The headers a merchant sends with a JSON body. */
export function authHeaders(shop: Credentials): Record<string, string> {
  return { authorization: basicAuth(shop), 'content-type': 'application/json' };
}

export interface HttpAnswer {
  status: number;
  headers: Headers;
  text: string;
  body: any;
}

/** One HTTP exchange; the body is parsed when it is JSON, and kept as text either way. */
export async function exchange(url: string, init: RequestInit): Promise<HttpAnswer> {
  const response = await fetch(url, init);
  const text = await response.text();
  let parsed: unknown;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = undefined;
  }
  return { status: response.status, headers: response.headers, text, body: parsed };
}

/**
 * True when fetch refused to send a request (a header value it will not put on the wire). A server that
 * hangs up without answering is another TypeError, `fetch failed` with the socket error as its cause, and
 * is not this: a test must not take a dropped connection for a request that was never sent.
 */
export function refusedByClient(error: unknown): boolean {
  return error instanceof TypeError && !connectionLost(error);
}

/** True when fetch lost its connection: the server hung up before answering, or in the middle of the body. */
export function connectionLost(error: unknown): boolean {
  return error instanceof TypeError && (error.message === 'fetch failed' || error.message === 'terminated');
}

export interface RequestOptions {
  /** A shop's Basic credentials, an operator's bearer token, or null for no Authorization header. */
  auth?: Credentials | { bearer: string } | null;
  headers?: Record<string, string>;
  /** Sent as is (malformed JSON tests); otherwise `body` is JSON-encoded. */
  raw?: string;
}

/**
 * A request to the gateway at `base`, authenticated as `options.auth` (no header when it is null or
 * absent). Redirects are answers of their own: the tests check where a page sends the browser.
 */
export function apiRequest(base: string, method: string, path: string, body?: unknown, options: RequestOptions = {}): Promise<HttpAnswer> {
  const headers: Record<string, string> = { ...(options.headers ?? {}) };
  const { auth } = options;
  if (auth && 'bearer' in auth) headers.authorization = `Bearer ${auth.bearer}`;
  else if (auth) headers.authorization = basicAuth(auth);
  let payload: string | undefined = options.raw;
  if (payload === undefined && body !== undefined) payload = JSON.stringify(body);
  const typed = Object.keys(headers).some((name) => name.toLowerCase() === 'content-type');
  if (payload !== undefined && !typed) headers['content-type'] = 'application/json';
  return exchange(base + path, { method, headers, body: payload, redirect: 'manual' });
}
