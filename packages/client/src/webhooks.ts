import { createHash, createPublicKey, KeyObject, timingSafeEqual, verify } from 'node:crypto';
import { WebhookVerificationError } from './errors.js';
import type { WebhookTransaction } from './types.js';

/** A Fetch `Headers`, or Node's `request.headers` (lower-case names) or any plain record. */
export type WebhookHeaders = Headers | Record<string, string | string[] | undefined>;

export interface WebhookVerificationOptions {
  /** The shop's webhook public key as the gateway shows it: base64 DER SPKI (a PEM string or a KeyObject also do). */
  publicKey?: string | KeyObject;
  /** With `secretKey`: the Basic credentials the gateway sends along. */
  shopId?: number | string;
  secretKey?: string;
}

function header(headers: WebhookHeaders, name: string): string | undefined {
  if (typeof (headers as Headers).get === 'function') return (headers as Headers).get(name) ?? undefined;
  for (const [key, value] of Object.entries(headers as Record<string, string | string[] | undefined>)) {
    if (key.toLowerCase() !== name) continue;
    if (Array.isArray(value)) return value.length === 1 ? value[0] : undefined;
    return value;
  }
  return undefined;
}

function publicKeyOf(key: string | KeyObject): KeyObject {
  let parsed: KeyObject;
  try {
    if (key instanceof KeyObject) parsed = key;
    else if (key.trimStart().startsWith('-----BEGIN')) parsed = createPublicKey(key);
    else parsed = createPublicKey({ key: Buffer.from(key.replace(/\s+/g, ''), 'base64'), format: 'der', type: 'spki' });
  } catch (error) {
    throw new TypeError('publicKey is not a public key: give the base64 DER SPKI the gateway shows for the shop', { cause: error });
  }
  if (parsed.asymmetricKeyType !== 'rsa') throw new TypeError("publicKey must be the shop's RSA public key");
  return parsed.type === 'private' ? createPublicKey(parsed) : parsed;
}

/** Compares digests so neither the length nor the content of the secret leaks through timing. */
function sameSecret(given: string, expected: string): boolean {
  const digest = (value: string) => createHash('sha256').update(value, 'utf8').digest();
  return timingSafeEqual(digest(given), digest(expected));
}

function checkSignature(raw: Buffer, headers: WebhookHeaders, key: KeyObject): void {
  const signature = header(headers, 'content-signature')?.trim();
  if (!signature) throw new WebhookVerificationError('The webhook has no Content-Signature header');
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(signature)) throw new WebhookVerificationError("The webhook's Content-Signature is not base64");
  if (!verify('sha256', raw, key, Buffer.from(signature, 'base64'))) {
    throw new WebhookVerificationError("The webhook's Content-Signature does not match its body and the shop's public key");
  }
}

function checkCredentials(headers: WebhookHeaders, shopId: string, secretKey: string): void {
  const authorization = header(headers, 'authorization');
  const match = authorization ? /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(authorization) : null;
  if (!match) throw new WebhookVerificationError('The webhook has no Basic credentials');
  const decoded = Buffer.from(match[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  const user = colon < 0 ? decoded : decoded.slice(0, colon);
  const password = colon < 0 ? '' : decoded.slice(colon + 1);
  // Both compared, always, so a wrong shop id answers no faster than a wrong secret.
  const userMatches = sameSecret(user, shopId);
  const passwordMatches = sameSecret(password, secretKey);
  if (!(userMatches && passwordMatches)) throw new WebhookVerificationError("The webhook's Basic credentials are not the shop's");
}

/**
 * Checks a webhook (spec §5) and answers its transaction. Give the body exactly as it arrived — the
 * bytes, not a parsed and re-serialized object — and the credentials you want checked: the shop's
 * public key for `Content-Signature`, the shop id and secret key for the Basic credentials, or both
 * (at least one). Throws WebhookVerificationError for anything that does not check out.
 */
export function verifyWebhook(rawBody: string | Uint8Array, headers: WebhookHeaders, options: WebhookVerificationOptions): WebhookTransaction {
  if (typeof rawBody !== 'string' && !(rawBody instanceof Uint8Array)) {
    throw new TypeError('verifyWebhook needs the raw body (a Buffer or string as received), not a parsed object');
  }
  if (!headers || typeof headers !== 'object') throw new TypeError('verifyWebhook needs the request headers');
  const { publicKey, shopId, secretKey } = options ?? {};
  const hasShopId = shopId !== undefined && shopId !== null && String(shopId) !== '';
  const hasSecretKey = secretKey !== undefined && secretKey !== null && secretKey !== '';
  if (hasShopId !== hasSecretKey) throw new TypeError('Give both shopId and secretKey to check the Basic credentials');
  if (!publicKey && !hasSecretKey) throw new TypeError('Give publicKey, or shopId and secretKey, or all three: something must be checked');

  const raw = typeof rawBody === 'string' ? Buffer.from(rawBody, 'utf8') : Buffer.from(rawBody.buffer, rawBody.byteOffset, rawBody.byteLength);
  if (publicKey) checkSignature(raw, headers, publicKeyOf(publicKey));
  if (hasSecretKey) checkCredentials(headers, String(shopId), secretKey!);

  let body: unknown;
  try {
    body = JSON.parse(raw.toString('utf8'));
  } catch (error) {
    throw new WebhookVerificationError('The webhook body is not JSON', { cause: error });
  }
  const transaction = (body as { transaction?: unknown } | null)?.transaction;
  if (typeof transaction !== 'object' || transaction === null || Array.isArray(transaction)) {
    throw new WebhookVerificationError('The webhook body has no transaction');
  }
  return transaction as WebhookTransaction;
}
