/**
 * A minimal merchant: a checkout form, a payment through @ecomgate/client, the 3-D Secure redirect, a
 * return page, and a webhook endpoint that verifies the gateway's signature before it believes anything.
 * Plain node:http and an in-memory order book, so the whole integration fits in one file; a real shop
 * keeps orders in its database and serves all this over HTTPS.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Gateway, GatewayError, type Transaction, ValidationError, verifyWebhook, WebhookVerificationError } from '@ecomgate/client';

export interface MerchantOptions {
  /** The gateway's base URL, e.g. http://127.0.0.1:8080. */
  gatewayUrl: string;
  shopId: number | string;
  secretKey: string;
  /** The shop's webhook public key (base64 DER SPKI), as the operator handed it out. */
  publicKey: string;
  /** This shop's own public base URL (return and notification URLs); default: the address it listens on. */
  publicUrl?: string;
  /** Where to tell what happens (default: console.log). */
  log?: (line: string) => void;
}

export interface Order {
  id: string;
  product: string;
  quantity: number;
  amount: number;
  currency: string;
  /** `new` until the gateway said something, then the transaction's status. */
  status: 'new' | Transaction['status'];
  uid?: string;
  /** The gateway's webhook, once one arrived with a valid signature. */
  webhook?: { verified: true; status: string; uid: string; webhookId?: string; receivedAt: string };
  /** Webhooks refused because they did not verify (forged, tampered, wrong shop). */
  rejectedWebhooks: number;
}

const PRODUCT = { name: 'Sneakers, size 42', price: 4999, currency: 'EUR' };

export interface Merchant {
  server: Server;
  orders: Map<string, Order>;
  /** Starts listening; answers the shop's URL. */
  listen(port: number, host?: string): Promise<string>;
  close(): Promise<void>;
}

const escapeHtml = (value: unknown): string =>
  String(value ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

const money = (amount: number, currency: string): string => `${(amount / 100).toFixed(2)} ${currency}`;

function page(title: string, body: string, options: { refreshSeconds?: number } = {}): string {
  const refresh = options.refreshSeconds ? `<meta http-equiv="refresh" content="${options.refreshSeconds}">` : '';
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
${refresh}
<title>${escapeHtml(title)}</title>
<style>
  body { font-family: system-ui, sans-serif; background: #f6f7f9; color: #111827; margin: 0; }
  main { max-width: 30rem; margin: 3rem auto; background: #fff; border-radius: 12px; padding: 2rem; box-shadow: 0 1px 3px rgba(0,0,0,.12); }
  label { display: block; margin: .8rem 0 .2rem; font-weight: 600; }
  input, select { width: 100%; box-sizing: border-box; padding: .55rem; font-size: 1rem; border: 1px solid #d1d5db; border-radius: 6px; }
  .row { display: flex; gap: .8rem; } .row > div { flex: 1; }
  button { margin-top: 1.4rem; width: 100%; padding: .8rem; font-size: 1rem; border: 0; border-radius: 8px; background: #2563eb; color: #fff; cursor: pointer; }
  .error { background: #fef2f2; color: #991b1b; padding: .7rem; border-radius: 6px; }
  .ok { color: #166534; } .bad { color: #991b1b; } .muted { color: #6b7280; font-size: .9rem; }
  code { font-size: .85rem; }
</style>
</head>
<body><main>
${body}
</main></body>
</html>`;
}

function checkoutPage(error?: string, values: Record<string, string> = {}): string {
  const value = (name: string, fallback: string) => escapeHtml(values[name] ?? fallback);
  return page(
    'Checkout',
    `<h1>Checkout</h1>
<p><strong>${escapeHtml(PRODUCT.name)}</strong> — ${money(PRODUCT.price, PRODUCT.currency)} each</p>
${error ? `<p class="error" role="alert">${escapeHtml(error)}</p>` : ''}
<form method="post" action="/checkout">
  <label for="quantity">Quantity</label>
  <select id="quantity" name="quantity">${[1, 2, 3, 4, 5].map((n) => `<option${String(n) === (values.quantity ?? '1') ? ' selected' : ''}>${n}</option>`).join('')}</select>
  <label for="holder">Name on card</label>
  <input id="holder" name="holder" autocomplete="cc-name" value="${value('holder', 'John Doe')}">
  <label for="number">Card number</label>
  <input id="number" name="number" inputmode="numeric" autocomplete="cc-number" value="${value('number', '4012000000003010')}">
  <div class="row">
    <div><label for="exp">Expiry (MM/YY)</label><input id="exp" name="exp" autocomplete="cc-exp" value="${value('exp', `12/${String(new Date().getUTCFullYear() + 3).slice(2)}`)}"></div>
    <div><label for="cvc">CVC</label><input id="cvc" name="cvc" inputmode="numeric" autocomplete="cc-csc" value="${value('cvc', '123')}"></div>
  </div>
  <button type="submit">Pay</button>
</form>
<p class="muted">Test cards: <code>4012000000003010</code> asks for 3-D Secure, <code>4200000000000000</code> succeeds at once,
<code>4005550000000019</code> is declined.</p>`,
  );
}

function returnPage(order: Order, transaction: Transaction | undefined): string {
  const status = transaction?.status ?? order.status;
  const heading =
    status === 'successful'
      ? 'Thank you — payment successful'
      : status === 'failed'
        ? 'Payment failed'
        : status === 'expired'
          ? 'Payment expired'
          : 'Payment pending';
  const confirmation = order.webhook
    ? `<p id="webhook" class="ok">Confirmed by the gateway's signed notification (${escapeHtml(order.webhook.status)}).</p>`
    : `<p id="webhook" class="muted">Waiting for the gateway's signed notification…</p>`;
  return page(
    heading,
    `<h1 class="${status === 'successful' ? 'ok' : status === 'failed' || status === 'expired' ? 'bad' : ''}">${escapeHtml(heading)}</h1>
<p>Order <strong id="order">${escapeHtml(order.id)}</strong>: ${order.quantity} × ${escapeHtml(order.product)}, ${money(order.amount, order.currency)}</p>
${transaction?.message ? `<p>${escapeHtml(transaction.message)}</p>` : ''}
${confirmation}
<p><a href="/">Back to the shop</a></p>`,
    // Until the webhook arrives, look again in a moment (no script needed).
    { refreshSeconds: order.webhook ? undefined : 2 },
  );
}

function readBody(request: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        reject(new Error('body too large'));
        request.destroy();
      } else chunks.push(chunk);
    });
    request.on('end', () => resolve(Buffer.concat(chunks)));
    request.on('error', reject);
  });
}

function parseExpiry(value: string): { exp_month: string; exp_year: number } | undefined {
  const match = /^\s*(\d{1,2})\s*\/\s*(\d{2}|\d{4})\s*$/.exec(value);
  if (!match || Number(match[1]) < 1 || Number(match[1]) > 12) return undefined;
  return { exp_month: match[1]!.padStart(2, '0'), exp_year: match[2]!.length === 2 ? 2000 + Number(match[2]) : Number(match[2]) };
}

export function createMerchant(options: MerchantOptions): Merchant {
  const gateway = new Gateway({ shopId: options.shopId, secretKey: options.secretKey, baseUrl: options.gatewayUrl, timeoutMs: 60_000 });
  const log = options.log ?? ((line: string) => console.log(line));
  const orders = new Map<string, Order>();
  let publicUrl = options.publicUrl?.replace(/\/+$/, '');

  const html = (response: ServerResponse, status: number, body: string) =>
    response.writeHead(status, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' }).end(body);
  const json = (response: ServerResponse, status: number, body: unknown) =>
    response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  const redirect = (response: ServerResponse, location: string) => response.writeHead(303, { location }).end();

  /** POST /checkout: create the order, ask the gateway for the payment, send the customer where it says. */
  async function checkout(request: IncomingMessage, response: ServerResponse) {
    const form = Object.fromEntries(new URLSearchParams((await readBody(request, 16 * 1024)).toString('utf8')));
    const quantity = Number(form.quantity ?? '1');
    const expiry = parseExpiry(form.exp ?? '');
    if (!Number.isInteger(quantity) || quantity < 1 || quantity > 5) return html(response, 422, checkoutPage('Choose a quantity from 1 to 5.', form));
    if (!expiry) return html(response, 422, checkoutPage('The expiry date is MM/YY.', form));

    const order: Order = {
      id: `order-${randomBytes(5).toString('hex')}`,
      product: PRODUCT.name,
      quantity,
      amount: PRODUCT.price * quantity,
      currency: PRODUCT.currency,
      status: 'new',
      rejectedWebhooks: 0,
    };
    orders.set(order.id, order);
    let transaction: Transaction;
    try {
      transaction = await gateway.payment({
        amount: order.amount,
        currency: order.currency,
        description: `${quantity} × ${order.product}`,
        tracking_id: order.id,
        // The gateway appends uid and status to it after 3-D Secure.
        return_url: `${publicUrl}/return?order=${order.id}`,
        notification_url: `${publicUrl}/webhook`,
        credit_card: {
          number: (form.number ?? '').replace(/[\s-]/g, ''),
          holder: form.holder ?? '',
          verification_value: form.cvc || undefined,
          ...expiry,
        },
        customer: { ip: request.socket.remoteAddress?.replace(/^::ffff:/, '') },
      });
    } catch (error) {
      orders.delete(order.id);
      // 422: the gateway refused the request (a bad card number, an expired card, a duplicate ...).
      if (error instanceof ValidationError) return html(response, 422, checkoutPage(error.message, form));
      log(`checkout: the payment service did not answer: ${(error as Error).message}`);
      const message = error instanceof GatewayError ? 'The payment service is unavailable; please try again in a moment.' : 'Something went wrong.';
      return html(response, 502, checkoutPage(message, form));
    }
    order.uid = transaction.uid;
    order.status = transaction.status;
    log(`checkout: ${order.id} ${money(order.amount, order.currency)} → payment ${transaction.uid} ${transaction.status}`);
    // 3-D Secure: the customer's browser goes to the issuer's page, which comes back to return_url.
    if (transaction.status === 'incomplete' && transaction.redirect_url) return redirect(response, transaction.redirect_url);
    return redirect(response, `/return?order=${order.id}&uid=${transaction.uid}&status=${transaction.status}`);
  }

  /**
   * GET /return: the customer is back. The query (`status=successful`) is only a hint anyone can type;
   * what the page shows comes from the gateway itself (an authenticated status query).
   */
  async function returned(url: URL, response: ServerResponse) {
    const order = orders.get(url.searchParams.get('order') ?? '');
    const uid = url.searchParams.get('uid') ?? order?.uid;
    if (!order || !uid || (order.uid && order.uid !== uid))
      return html(response, 404, page('Unknown order', '<h1>Unknown order</h1><p><a href="/">Back to the shop</a></p>'));
    let transaction: Transaction | undefined;
    try {
      transaction = await gateway.transaction(uid);
    } catch (error) {
      log(`return: status query of ${uid} failed: ${(error as Error).message}`);
    }
    if (transaction && transaction.tracking_id === order.id) {
      order.uid = transaction.uid;
      if (!order.webhook) order.status = transaction.status;
    } else transaction = undefined;
    return html(response, 200, returnPage(order, transaction));
  }

  /**
   * POST /webhook: believe nothing before the signature checks out over the raw bytes (and the Basic
   * credentials are the shop's). Answer 2xx once recorded, anything else to have the gateway retry.
   */
  async function webhook(request: IncomingMessage, response: ServerResponse) {
    const raw = await readBody(request, 1024 * 1024);
    let transaction: Transaction;
    try {
      transaction = verifyWebhook(raw, request.headers, { publicKey: options.publicKey, shopId: options.shopId, secretKey: options.secretKey });
    } catch (error) {
      if (!(error instanceof WebhookVerificationError)) throw error;
      const claimed = (() => {
        try {
          return JSON.parse(raw.toString('utf8'))?.transaction?.tracking_id;
        } catch {
          return undefined;
        }
      })();
      const order = typeof claimed === 'string' ? orders.get(claimed) : undefined;
      if (order) order.rejectedWebhooks++;
      log(`webhook: REJECTED (${error.message})`);
      return json(response, 400, { message: 'invalid webhook' });
    }
    const order = orders.get(transaction.tracking_id ?? '');
    // Not ours (another integration of the same shop): acknowledge so the gateway stops retrying.
    if (!order || (order.uid && order.uid !== transaction.uid)) return json(response, 200, { message: 'ignored' });
    const webhookId = typeof request.headers['x-webhook-id'] === 'string' ? request.headers['x-webhook-id'] : undefined;
    order.uid = transaction.uid;
    order.status = transaction.status;
    order.webhook = { verified: true, status: transaction.status, uid: transaction.uid, webhookId, receivedAt: new Date().toISOString() };
    log(`webhook: ${order.id} payment ${transaction.uid} ${transaction.status} (signature verified)`);
    return json(response, 200, { message: 'recorded' });
  }

  const server = createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://merchant.invalid');
    const route = `${request.method} ${url.pathname}`;
    const handled =
      route === 'GET /'
        ? Promise.resolve(html(response, 200, checkoutPage()))
        : route === 'POST /checkout'
          ? checkout(request, response)
          : route === 'GET /return'
            ? returned(url, response)
            : route === 'POST /webhook'
              ? webhook(request, response)
              : request.method === 'GET' && url.pathname.startsWith('/orders/')
                ? Promise.resolve(
                    ((order) => (order ? json(response, 200, order) : json(response, 404, { message: 'Unknown order' })))(
                      orders.get(decodeURIComponent(url.pathname.slice('/orders/'.length))),
                    ),
                  )
                : Promise.resolve(json(response, 404, { message: 'Not found' }));
    handled.catch((error: unknown) => {
      log(`${route}: ${(error as Error).message}`);
      if (!response.headersSent) json(response, 500, { message: 'Something went wrong' });
    });
  });

  return {
    server,
    orders,
    async listen(port: number, host = '127.0.0.1') {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => resolve());
      });
      const address = server.address() as AddressInfo;
      publicUrl ??= `http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`;
      return publicUrl;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
