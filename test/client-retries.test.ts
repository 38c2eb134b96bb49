import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe } from 'node:test';
import { it } from './support/deadline.js';
import { ConnectionError, Gateway, type PaymentRequest, ValidationError } from '@ecomgate/client';
import { AS_OPERATOR, BankGate, card, DEMO_SHOP, startGateway, type TestGateway } from './support/gateway.js';

/**
 * What a flaky network does to a client, with a real gateway behind it: answers lost after the gateway
 * did the work, a proxy's HTML error page, a gateway too slow to answer, and the rate limit.
 */

let sequence = 0;
function order(extra: Partial<PaymentRequest> = {}): PaymentRequest {
  sequence++;
  return {
    amount: 4000 + sequence,
    currency: 'EUR',
    description: `Order ${sequence}`,
    tracking_id: `retry-${randomUUID()}`,
    credit_card: card(),
    ...extra,
  };
}

/** What the proxy does with the n-th request: pass it on, pass it on and lose the answer, or answer 502 itself. */
type Fate = 'forward' | 'lose-answer' | 'bad-gateway';

interface Seen {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  /** The gateway's status, or undefined when the proxy answered itself. */
  status?: number;
}

/** A reverse proxy on a random port in front of the gateway. */
class FlakyProxy {
  readonly seen: Seen[] = [];
  fate: (n: number) => Fate = () => 'forward';

  private constructor(
    private readonly server: Server,
    readonly url: string,
  ) {}

  static async start(target: string): Promise<FlakyProxy> {
    let proxy: FlakyProxy | undefined;
    const server = createServer((request, response) => void proxy!.handle(target, request, response));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    proxy = new FlakyProxy(server, `http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    return proxy;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async handle(target: string, request: IncomingMessage, response: ServerResponse) {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const seen: Seen = { method: request.method!, path: request.url!, headers: request.headers };
    this.seen.push(seen);
    const fate = this.fate(this.seen.length);
    if (fate === 'bad-gateway') {
      response.writeHead(502, { 'content-type': 'text/html' }).end('<html><body><h1>502 Bad Gateway</h1></body></html>');
      return;
    }
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(request.headers)) {
      if (typeof value === 'string' && !['host', 'connection', 'content-length', 'keep-alive'].includes(name)) headers[name] = value;
    }
    const upstream = await fetch(target + request.url, { method: request.method, headers, body: chunks.length ? Buffer.concat(chunks) : undefined });
    const text = await upstream.text();
    seen.status = upstream.status;
    if (fate === 'lose-answer') {
      // The gateway has done the work; the client never hears of it.
      request.socket.destroy();
      return;
    }
    const passOn: Record<string, string> = {};
    for (const name of ['content-type', 'x-request-id', 'retry-after']) {
      const value = upstream.headers.get(name);
      if (value !== null) passOn[name] = value;
    }
    response.writeHead(upstream.status, passOn).end(text);
  }
}

describe('@ecomgate/client: retries', () => {
  let gw: TestGateway;
  let proxy: FlakyProxy;
  let gateway: Gateway;

  const bank = new BankGate();

  before(async () => {
    gw = await startGateway('sqlite', {}, { asyncWorkers: true, sleep: bank.sleep });
    proxy = await FlakyProxy.start(gw.url);
    gateway = new Gateway({ shopId: DEMO_SHOP.id, secretKey: DEMO_SHOP.secret, baseUrl: proxy.url, timeoutMs: 10_000 });
  });
  after(async () => {
    await proxy.close();
    await gw.close();
  });

  function fresh() {
    proxy.seen.length = 0;
    proxy.fate = () => 'forward';
  }

  it('a lost answer is retried with the same RequestID: the same transaction comes back, and only one exists', async () => {
    fresh();
    proxy.fate = (n) => (n === 1 ? 'lose-answer' : 'forward');
    const before = await gw.count('transactions');
    const request = order();
    const payment = await gateway.payment(request);
    assert.equal(payment.status, 'successful');
    assert.equal(proxy.seen.length, 2, 'one retry');
    assert.deepEqual(
      proxy.seen.map((s) => s.status),
      [200, 200],
      'the gateway answered both',
    );
    const [first, second] = proxy.seen.map((s) => s.headers.requestid);
    assert.match(String(first), /^[0-9a-f-]{36}$/, 'a RequestID is sent without being asked for');
    assert.equal(second, first, 'the retry carries the same RequestID');
    assert.equal(await gw.count('transactions'), before + 1, 'the gateway ran the payment once');
    const [only] = await gateway.byTrackingId(request.tracking_id!);
    assert.equal(only.uid, payment.uid);
  });

  it('each call has its own RequestID, and the caller may choose it', async () => {
    fresh();
    await gateway.payment(order());
    await gateway.payment(order(), { requestId: 'order-42-payment' });
    assert.notEqual(proxy.seen[0].headers.requestid, undefined);
    assert.equal(proxy.seen[1].headers.requestid, 'order-42-payment');
    fresh();
    await gateway.transaction((await gateway.payment(order())).uid);
    await gateway.balance('EUR');
    assert.equal(proxy.seen[1].headers.requestid, undefined, 'queries carry none');
    assert.equal(proxy.seen[2].headers.requestid, undefined);
    assert.equal(proxy.seen[2].headers['x-api-version'], '2');
  });

  it('with no retries left, a lost answer is a ConnectionError', async () => {
    fresh();
    proxy.fate = () => 'lose-answer';
    const once = new Gateway({ shopId: DEMO_SHOP.id, secretKey: DEMO_SHOP.secret, baseUrl: proxy.url, timeoutMs: 10_000, retries: 0 });
    const error = await once.payment(order()).catch((e: unknown) => e);
    assert.ok(error instanceof ConnectionError, String(error));
    assert.equal(error.statusCode, undefined);
    assert.equal(proxy.seen.length, 1);
    fresh();
    proxy.fate = () => 'lose-answer';
    const twice = await gateway.payment(order()).catch((e: unknown) => e);
    assert.ok(twice instanceof ConnectionError);
    assert.equal(proxy.seen.length, 3, 'the default is two retries');
  });

  it('an async submit retried after a lost answer answers its first task', async () => {
    fresh();
    proxy.fate = (n) => (n === 1 ? 'lose-answer' : 'forward');
    const before = await gw.count('transactions');
    const request = order();
    const handle = await gateway.async.payment(request);
    assert.equal(proxy.seen.length, 2);
    assert.equal(proxy.seen[1].headers.requestid, proxy.seen[0].headers.requestid);
    const payment = await handle.wait({ timeoutMs: 10_000 });
    assert.equal(payment.status, 'successful');
    assert.equal(await gw.count('transactions'), before + 1);
    assert.equal((await gateway.byTrackingId(request.tracking_id!)).length, 1);
  });

  it("a proxy's HTML 502 is retried; with no retries left it is a ConnectionError carrying the status", async () => {
    fresh();
    proxy.fate = (n) => (n === 1 ? 'bad-gateway' : 'forward');
    const payment = await gateway.payment(order());
    assert.equal(payment.status, 'successful');
    assert.equal(proxy.seen.length, 2);
    fresh();
    proxy.fate = () => 'bad-gateway';
    const once = new Gateway({ shopId: DEMO_SHOP.id, secretKey: DEMO_SHOP.secret, baseUrl: proxy.url, timeoutMs: 10_000, retries: 0 });
    const error = await once.transaction(payment.uid).catch((e: unknown) => e);
    assert.ok(error instanceof ConnectionError, String(error));
    assert.equal(error.statusCode, 502);
    assert.match(error.message, /unavailable/);
    assert.match(String(error.body), /502 Bad Gateway/);
  });

  it('a refused request (4xx other than 429) is never retried', async () => {
    fresh();
    const error = await gateway.payment({ ...order(), amount: -1 }).catch((e: unknown) => e);
    assert.ok(error instanceof ValidationError);
    const stranger = new Gateway({ shopId: DEMO_SHOP.id, secretKey: 'wrong', baseUrl: proxy.url, timeoutMs: 10_000 });
    await assert.rejects(stranger.transaction(randomUUID()));
    await assert.rejects(gateway.transaction(randomUUID()));
    assert.equal(proxy.seen.length, 3);
  });

  it('no answer within timeoutMs is a ConnectionError', async () => {
    const secret = randomUUID();
    const created = await gw.request(
      'POST',
      '/admin/shops',
      { id: 9501, secret_key: secret, test: true, acquirer_settings: { slow_ms: 1500 } },
      AS_OPERATOR,
    );
    assert.equal(created.status, 201, created.text);
    const hasty = new Gateway({ shopId: 9501, secretKey: secret, baseUrl: gw.url, timeoutMs: 200, retries: 0 });
    // The bank holds the payment: only the client's own timeout can end the call.
    bank.hold();
    try {
      const error = await hasty.payment(order({ credit_card: card('4000000000000309') })).catch((e: unknown) => e);
      assert.ok(error instanceof ConnectionError, String(error));
      assert.match(error.message, /within 200 ms/);
      assert.equal(bank.waiting, 1, 'the gateway was still at the bank');
    } finally {
      bank.open();
    }
  });
});

describe('@ecomgate/client: 429', () => {
  let gw: TestGateway;
  let proxy: FlakyProxy;

  before(async () => {
    gw = await startGateway('sqlite', { rateLimit: 1 });
    proxy = await FlakyProxy.start(gw.url);
  });
  after(async () => {
    await proxy.close();
    await gw.close();
  });

  it('waits out Retry-After and retries with the same RequestID', async () => {
    const gateway = new Gateway({ shopId: DEMO_SHOP.id, secretKey: DEMO_SHOP.secret, baseUrl: proxy.url, timeoutMs: 10_000 });
    await gateway.balance('EUR'); // takes the one request of this second
    const started = Date.now();
    const payment = await gateway.payment(order());
    const waited = Date.now() - started;
    assert.equal(payment.status, 'successful');
    assert.deepEqual(
      proxy.seen.map((s) => s.status),
      [200, 429, 200],
    );
    assert.ok(waited >= 950, `waited ${waited} ms for Retry-After: 1`);
    assert.equal(proxy.seen[2].headers.requestid, proxy.seen[1].headers.requestid);
    assert.equal((await gateway.byTrackingId(payment.tracking_id!)).length, 1);
  });
});
