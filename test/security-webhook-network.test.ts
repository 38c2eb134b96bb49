import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import { after, before, describe } from 'node:test';
import { it } from './support/deadline.js';
import { refusedRange } from '../src/webhooks/network.js';
import { paymentRequest, startGateway, type TestGateway } from './support/gateway.js';

/**
 * With ECOMGATE_WEBHOOK_ALLOW_PRIVATE off, a notification_url reaches global unicast addresses only, and
 * never this host's own. The guard does not touch storage: one store is enough.
 */
const ranges: [target: string, range: string][] = [
  ['127.0.0.1', 'loopback'],
  ['10.1.2.3', 'private'],
  ['172.16.0.1', 'private'],
  ['192.168.1.1', 'private'],
  ['100.64.0.1', 'carrierGradeNat'],
  ['169.254.169.254', 'linkLocal'],
  ['0.0.0.0', 'unspecified'],
  ['192.0.0.8', 'reserved'],
  ['198.18.0.1', 'reserved'],
  ['198.19.255.254', 'reserved'],
  ['240.0.0.1', 'reserved'],
  ['224.0.0.1', 'multicast'],
  ['239.255.255.250', 'multicast'],
  ['255.255.255.255', 'broadcast'],
  ['[64:ff9b::a9fe:a9fe]', 'rfc6052'],
  ['[::a9fe:a9fe]', 'not global unicast'],
  ['[::ffff:169.254.169.254]', 'ipv4Mapped'],
  ['[::1]', 'loopback'],
  ['[::]', 'unspecified'],
  ['[fc00::1]', 'uniqueLocal'],
  ['[fe80::1]', 'linkLocal'],
  ['[ff02::1]', 'multicast'],
  ['[2001:db8::1]', 'reserved'],
];

describe('webhook network guard [sqlite]', () => {
  let gw: TestGateway;
  let listener: http.Server;
  let port: number;
  let connections = 0;

  before(async () => {
    gw = await startGateway('sqlite', { webhookAllowPrivate: false, webhookTimeoutMs: 2000 });
    // Listens on every interface of this host: a delivery the guard let through would connect here.
    listener = http.createServer((_request, response) => response.end('ok'));
    listener.on('connection', () => connections++);
    await new Promise<void>((resolve) => listener.listen(0, '::', resolve));
    port = (listener.address() as AddressInfo).port;
  });
  after(async () => {
    await new Promise((resolve) => listener.close(resolve));
    await gw.close();
  });

  /** Pays with this notification_url, runs its delivery once, and answers the attempt's error. */
  async function attemptTo(url: string): Promise<string> {
    const payment = await gw.post('/transactions/payments', paymentRequest({ notification_url: url }));
    assert.equal(payment.status, 200, payment.text);
    await gw.app.webhooks.drain();
    const delivery = await gw.app.store.db
      .selectFrom('webhook_deliveries')
      .selectAll()
      .where('transaction_uid', '=', payment.body.transaction.uid)
      .executeTakeFirstOrThrow();
    const attempt = await gw.app.store.db.selectFrom('webhook_attempts').selectAll().where('delivery_id', '=', delivery.id).executeTakeFirstOrThrow();
    assert.equal(attempt.status_code, null);
    return String(attempt.error);
  }

  for (const [host, range] of ranges) {
    it(`refuses ${host} (${range})`, async () => {
      const before = connections;
      const error = await attemptTo(`http://${host}:${port}/hook`);
      assert.match(error, /private address/);
      assert.ok(error.includes(`, ${range})`), error);
      assert.equal(connections, before, 'no connection was made');
    });
  }

  it('refuses a name by the address it resolves to (localhost), before connecting', async () => {
    const before = connections;
    const error = await attemptTo(`http://localhost:${port}/hook`);
    assert.match(error, /^localhost is a private address \((127\.0\.0\.1|::1), loopback\)/);
    assert.equal(connections, before);
  });

  it("refuses each of this host's own interface addresses", async () => {
    const own = Object.values(os.networkInterfaces()).flatMap((entries) => entries ?? []);
    assert.ok(own.length > 0);
    for (const entry of own) {
      if (entry.scopeid) continue; // a zoned link-local address cannot be written in a URL
      const before = connections;
      const host = entry.family === 'IPv6' ? `[${entry.address}]` : entry.address;
      const error = await attemptTo(`http://${host}:${port}/hook`);
      assert.match(error, /private address/, host);
      assert.equal(connections, before, host);
    }
  });

  it("refuses a global unicast address that is one of the host's own, and lets other global unicast through", () => {
    assert.equal(refusedRange('203.0.114.7', new Set(['203.0.114.7'])), 'own address');
    assert.equal(refusedRange('[2606:4700::1111]', new Set(['2606:4700:0:0:0:0:0:1111'])), 'own address');
    assert.equal(refusedRange('203.0.114.7', new Set()), undefined);
    assert.equal(refusedRange('8.8.8.8', new Set()), undefined);
    assert.equal(refusedRange('[2606:4700::1111]', new Set()), undefined);
  });
});
