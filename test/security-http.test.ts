import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe } from 'node:test';
import { it, until, within } from './support/deadline.js';
import { DEMO_SHOP, startGateway, type TestGateway } from './support/gateway.js';
import { basicAuth } from './support/http.js';

/**
 * Transport hardening: requests that stall are answered 408 and their sockets closed, open connections are
 * capped, a client's aborted upload is not taken for a database outage, `0361` is not shop 361, and the
 * async status and result routes do not echo arbitrary path text. Storage plays no part: SQLite only.
 */

interface RawAnswer {
  /** Everything the server wrote before it closed the connection. */
  text: string;
  status: number | undefined;
  body: any;
}

function connect(url: string): Promise<net.Socket> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(port), hostname, () => resolve(socket));
    socket.once('error', reject);
  });
}

/** What the server writes on `socket` until it closes it (a deadline fails the test). */
async function untilClosed(socket: net.Socket, deadlineMs = 10_000): Promise<RawAnswer> {
  let text = '';
  socket.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
  socket.on('error', () => {});
  const closed = new Promise((resolve) => socket.once('close', resolve));
  // On a deadline the test fails; the socket goes too, so the gateway can still close after it.
  await within(closed, deadlineMs, () => `the server kept the connection open; it wrote ${JSON.stringify(text)}`).catch((error: unknown) => {
    socket.destroy();
    throw error;
  });
  const status = /^HTTP\/1\.1 (\d{3})/.exec(text)?.[1];
  const bodyText = text.slice(text.indexOf('\r\n\r\n') + 4);
  let body: unknown;
  try {
    body = JSON.parse(bodyText);
  } catch {
    body = undefined;
  }
  return { text, status: status === undefined ? undefined : Number(status), body };
}

/** Opens a connection, writes `head` and then nothing more. */
async function stall(url: string, head: string): Promise<RawAnswer> {
  const socket = await connect(url);
  socket.write(head);
  return untilClosed(socket);
}

describe('stalled requests and idle connections', () => {
  let gateway: TestGateway;
  before(async () => {
    // Short limits so the test does not wait long; what is asserted is the answer, not how fast it came.
    gateway = await startGateway('sqlite', { requestTimeoutMs: 600, headersTimeoutMs: 300, keepAliveTimeoutMs: 300 });
  });
  after(() => gateway.close());

  it('answers 408 with the API error body when a declared body never comes', async () => {
    const answer = await stall(
      gateway.url,
      'POST /process/some-uid HTTP/1.1\r\nHost: gateway\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\n',
    );
    assert.equal(answer.status, 408, answer.text);
    assert.deepEqual(answer.body, { message: 'Request timed out', response: { message: 'Request timed out' } });
  });

  it('answers 408 when the headers never finish', async () => {
    const answer = await stall(gateway.url, `GET /transactions/some-uid HTTP/1.1\r\nHost: gateway\r\nAuthorization: ${basicAuth(DEMO_SHOP)}\r\n`);
    assert.equal(answer.status, 408, answer.text);
    assert.equal(answer.body.message, 'Request timed out');
  });

  it('closes a keep-alive connection left idle after its answer', async () => {
    const socket = await connect(gateway.url);
    socket.write('GET /healthz HTTP/1.1\r\nHost: gateway\r\n\r\n');
    const answer = await untilClosed(socket);
    assert.equal(answer.status, 200, answer.text);
    assert.match(answer.text, /connection: keep-alive/i);
  });
});

describe('the connection cap', () => {
  let gateway: TestGateway;
  before(async () => {
    gateway = await startGateway('sqlite', { maxConnections: 2 });
  });
  after(() => gateway.close());

  it('closes connections beyond ECOMGATE_MAX_CONNECTIONS at once, counts them, and serves again once one is free', async (t) => {
    const held = [await connect(gateway.url), await connect(gateway.url)];
    t.after(() => {
      for (const socket of held) socket.destroy();
    });
    const openOnServer = () =>
      new Promise<number>((resolve, reject) => gateway.app.server.server.getConnections((err, n) => (err ? reject(err) : resolve(n))));
    await until(
      async () => (await openOnServer()) === 2,
      () => 'the server never saw both held connections',
      10_000,
      100,
    );

    const extra = await connect(gateway.url);
    extra.write('GET /healthz HTTP/1.1\r\nHost: gateway\r\n\r\n');
    const refused = await untilClosed(extra);
    assert.equal(refused.text, '', 'a connection over the cap is closed without an answer');
    const dropped = await gateway.app.metrics.registry.getSingleMetric('ecomgate_http_connections_dropped_total')!.get();
    assert.equal(dropped.values[0]?.value, 1);

    for (const socket of held) socket.destroy();
    await until(
      async () => (await openOnServer()) === 0,
      () => 'the held connections never closed on the server',
      10_000,
      100,
    );
    assert.equal((await gateway.get('/healthz', { auth: null })).status, 200);
  });
});

describe('client aborts, shop ids and async ids', () => {
  let gateway: TestGateway;
  before(async () => {
    gateway = await startGateway('sqlite');
  });
  after(() => gateway.close());

  it('logs an upload the client aborts as a client abort, not as the database being unavailable', async () => {
    const socket = await connect(gateway.url);
    let received = '';
    socket.setEncoding('utf8').on('data', (chunk: string) => (received += chunk));
    socket.on('error', () => {});
    // `Expect: 100-continue`: Node writes "100 Continue" as it hands the request to the route, which starts
    // reading the body in that same turn (no I/O before it), so the reset below meets a body being read.
    socket.write(
      'POST /process/some-uid HTTP/1.1\r\nHost: gateway\r\nContent-Type: application/x-www-form-urlencoded\r\n' +
        'Content-Length: 500\r\nExpect: 100-continue\r\n\r\n',
    );
    await until(
      async () => received.includes('100 Continue'),
      () => 'no 100 Continue',
      10_000,
      100,
    );
    socket.write('PaRes=abc');
    socket.resetAndDestroy();
    const aborted = () => gateway.logs.find((line) => line.includes('"msg":"client aborted the request"'));
    await until(
      async () => aborted() !== undefined,
      () => `no client-abort line in:\n${gateway.logs.join('')}`,
      10_000,
      100,
    );
    assert.ok(!gateway.logs.some((line) => line.includes('database unavailable')), 'a client abort is not a store fault');
    assert.equal(JSON.parse(aborted()!).level, 30, 'a client abort is logged at info');
  });

  it('refuses a shop id with a leading zero (0361 is not shop 361)', async () => {
    const zeroPadded = basicAuth({ id: '0361', secret: DEMO_SHOP.secret });
    const padded = await gateway.get('/transactions/some-uid', { auth: null, headers: { authorization: zeroPadded } });
    assert.equal(padded.status, 401);
    assert.equal(padded.body.message, 'Invalid shop_id/secret_key.');
    assert.equal(padded.headers.get('www-authenticate'), 'Basic realm="ecomgate"');
    const plain = await gateway.get('/transactions/some-uid', { auth: null, headers: { authorization: basicAuth(DEMO_SHOP) } });
    assert.equal(plain.status, 404, 'the same secret with the plain id authenticates');
    const admin = await gateway.request('GET', '/admin/shops/0361', undefined, { auth: null, headers: { authorization: 'Bearer test-admin-token' } });
    assert.equal(admin.status, 404);
  });

  it('answers an unknown async id that is not a UUID without echoing it', async () => {
    const probe = `<script>${'x'.repeat(8000)}</script>`;
    for (const route of ['/async/status/', '/async/result/']) {
      const answer = await gateway.get(route + encodeURIComponent(probe));
      assert.equal(answer.status, 404);
      assert.deepEqual(answer.body, { status: 'unknown' });
      assert.ok(!answer.text.includes('xxxx'), 'no path text in the answer');
    }
    const uuid = '00000000-0000-4000-8000-000000000000';
    const known = await gateway.get(`/async/status/${uuid}`);
    assert.deepEqual(known.body, { status: 'unknown', request_id: uuid }, 'a well-formed unknown id is still answered with its id');
  });
});
