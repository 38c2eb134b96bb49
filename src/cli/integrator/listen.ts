import { createPublicKey } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { verifyWebhook, WebhookVerificationError } from '@ecomgate/client';
import { baseUrlOf, EXIT, shopIdOf, UsageError } from './connection.js';
import { headline, maskedCard, paint, styleFor } from './format.js';

export interface ListenFlags {
  /** The program's global --host / --port (commander hands them to the program, not the subcommand). */
  host?: string;
  port?: string;
  path?: string;
  publicKey?: string;
  secretKey?: string;
  shopId?: string;
  adminToken?: string;
  baseUrl?: string;
  json?: boolean;
}

/** A webhook body is one transaction; anything much larger is not from the gateway. */
const MAX_BODY = 1024 * 1024;

const given = (value: string | undefined): string | undefined => (value === undefined || value.trim() === '' ? undefined : value.trim());

/** `GET /admin/shops/{id}` with the operator's token: the shop's webhook public key (base64 DER SPKI). */
export async function fetchPublicKey(baseUrl: string, shopId: string, adminToken: string): Promise<string> {
  let response: Response;
  try {
    response = await fetch(`${baseUrl}/admin/shops/${encodeURIComponent(shopId)}`, {
      headers: { authorization: `Bearer ${adminToken}`, accept: 'application/json' },
      signal: AbortSignal.timeout(15_000),
    });
  } catch (error) {
    throw new UsageError(
      `could not fetch the public key of shop ${shopId} from ${baseUrl}: ${(error as { cause?: { code?: string } }).cause?.code ?? (error as Error).message}`,
    );
  }
  const body = (await response.json().catch(() => undefined)) as { public_key?: unknown; message?: unknown } | undefined;
  if (response.status !== 200 || typeof body?.public_key !== 'string') {
    throw new UsageError(
      `could not fetch the public key of shop ${shopId} from ${baseUrl}/admin/shops/${shopId}: HTTP ${response.status}${typeof body?.message === 'string' ? ` ${body.message}` : ''}`,
    );
  }
  return body.public_key;
}

function readBody(request: IncomingMessage): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY) {
        resolve(undefined);
        request.resume();
        return;
      }
      chunks.push(chunk);
    });
    request.on('end', () => resolve(size > MAX_BODY ? undefined : Buffer.concat(chunks)));
    request.on('error', reject);
  });
}

function parseLoosely(raw: Buffer): Record<string, unknown> | undefined {
  try {
    const body = JSON.parse(raw.toString('utf8')) as { transaction?: unknown };
    return body && typeof body.transaction === 'object' && body.transaction !== null ? (body.transaction as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * `ecomgate listen`: a local webhook endpoint for integrators. Every POST is checked (Content-Signature
 * with the shop's public key, and the Basic credentials when a secret key is given), printed, and
 * answered 200 when it checks out, 400 otherwise (so the gateway retries a delivery this receiver could
 * not verify). Runs until Ctrl-C.
 */
export async function listen(flags: ListenFlags): Promise<void> {
  const env = process.env;
  const port = flags.port === undefined ? 9000 : Number(flags.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`--port must be a port number, got "${flags.port}"`);
  const host = given(flags.host) ?? '127.0.0.1';
  const shopId = shopIdOf(flags);
  const secretKey = given(flags.secretKey) ?? given(env.ECOMGATE_SECRET_KEY);
  const adminToken = given(flags.adminToken) ?? given(env.ECOMGATE_ADMIN_TOKEN);
  let publicKey = given(flags.publicKey) ?? given(env.ECOMGATE_PUBLIC_KEY);
  let keySource = 'given';
  if (!publicKey && adminToken) {
    const baseUrl = baseUrlOf(flags);
    publicKey = await fetchPublicKey(baseUrl, shopId, adminToken);
    keySource = `fetched from ${baseUrl}/admin/shops/${shopId}`;
  }
  if (!publicKey && !secretKey) {
    throw new UsageError(
      'nothing to verify webhooks with: give --public-key K (the public_key printed by `ecomgate shop create` or shown by GET /admin/shops/{id}), ' +
        '--admin-token T with --shop-id and --base-url to fetch it, and/or --secret-key S to check the Basic credentials',
    );
  }
  if (publicKey) {
    try {
      createPublicKey({ key: Buffer.from(publicKey.replace(/\s+/g, ''), 'base64'), format: 'der', type: 'spki' });
    } catch {
      if (!publicKey.startsWith('-----BEGIN'))
        throw new UsageError('--public-key is not a public key: give the base64 DER SPKI the gateway shows for the shop');
    }
  }
  const checks = [publicKey ? 'Content-Signature' : undefined, secretKey ? 'Basic credentials' : undefined].filter(Boolean).join(' and ');
  const json = Boolean(flags.json);
  const style = styleFor(process.stdout);
  const info = styleFor(process.stderr);
  const pathFilter = given(flags.path);
  const seen = new Map<string, number>();
  let count = 0;
  let valid = 0;

  const handle = async (request: IncomingMessage, response: ServerResponse) => {
    const answer = (status: number, body: unknown) => response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    const path = (request.url ?? '/').split('?')[0]!;
    if (pathFilter && path !== pathFilter) return answer(404, { message: 'Not found' });
    if (request.method !== 'POST') return answer(405, { message: 'POST webhooks here' });
    const raw = await readBody(request);
    const n = ++count;
    const at = new Date().toISOString();
    const webhookId = typeof request.headers['x-webhook-id'] === 'string' ? request.headers['x-webhook-id'] : undefined;
    const attempt = typeof request.headers['x-webhook-attempt'] === 'string' ? request.headers['x-webhook-attempt'] : undefined;
    let transaction: Record<string, unknown> | undefined;
    let failure: string | undefined;
    if (!raw) failure = `body larger than ${MAX_BODY} bytes`;
    else {
      try {
        transaction = verifyWebhook(raw, request.headers, { publicKey, ...(secretKey ? { shopId, secretKey } : {}) }) as unknown as Record<
          string,
          unknown
        >;
      } catch (error) {
        failure = error instanceof WebhookVerificationError ? error.message : `not verifiable: ${(error as Error).message}`;
      }
    }
    const repeatOf = webhookId !== undefined && transaction ? seen.get(webhookId) : undefined;
    if (webhookId !== undefined && transaction && repeatOf === undefined) seen.set(webhookId, n);
    if (transaction) valid++;

    if (json) {
      if (transaction) process.stdout.write(JSON.stringify(transaction) + '\n');
      else process.stderr.write(`invalid webhook #${n} (${request.method} ${path}): ${failure}\n`);
    } else {
      const verdict = transaction ? paint(style, 'green', `✔ valid (${checks})`) : paint(style, 'red', `✘ INVALID: ${failure}`);
      const lines = [`${paint(style, 'bold', `#${n}`)} ${paint(style, 'gray', at)} ${request.method} ${path}  ${verdict}`];
      const shown = transaction ?? (raw ? parseLoosely(raw) : undefined);
      if (shown) {
        const claims = transaction ? '' : paint(style, 'gray', '(unverified) ');
        lines.push(`   ${claims}${headline(shown, style)}`);
        const details = [`uid ${shown.uid ?? '—'}`];
        const card = maskedCard((shown.credit_card ?? shown.recipient_credit_card) as never);
        if (card) details.push(card);
        if (typeof shown.message === 'string') details.push(shown.message);
        lines.push(`   ${details.join('  ·  ')}`);
      }
      const meta = [
        webhookId ? `webhook ${webhookId}` : undefined,
        attempt ? `attempt ${attempt}` : undefined,
        repeatOf ? `repeat of #${repeatOf}` : undefined,
      ].filter(Boolean);
      if (meta.length) lines.push(paint(style, 'gray', `   ${meta.join('  ·  ')}`));
      process.stdout.write(lines.join('\n') + '\n');
    }
    if (transaction) answer(200, { message: 'OK' });
    else answer(400, { message: failure });
  };

  const server = createServer((request, response) => {
    handle(request, response).catch((error) => {
      process.stderr.write(`ecomgate listen: ${(error as Error).message}\n`);
      if (!response.headersSent) response.writeHead(500).end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) =>
      reject(error.code === 'EADDRINUSE' ? new UsageError(`port ${port} is in use: pick another with --port`) : error),
    );
    server.listen(port, host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const url = `http://${shownHost}:${address.port}${pathFilter ?? '/'}`;
  process.stderr.write(
    `${paint(info, 'bold', 'listening on')} ${url}  (shop ${shopId}; checking ${checks}${publicKey ? `; public key ${keySource}` : ''})  Ctrl-C to stop\n`,
  );

  await new Promise<void>((resolve) => {
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      server.close(() => resolve());
      server.closeAllConnections();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  process.stderr.write(`${count} deliveries, ${valid} valid, ${count - valid} invalid\n`);
  process.exitCode = EXIT.ok;
}
