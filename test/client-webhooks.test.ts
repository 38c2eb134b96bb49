import assert from 'node:assert/strict';
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { after, before, describe } from 'node:test';
import { it } from './support/deadline.js';
import { Gateway, GatewayError, type PaymentRequest, verifyWebhook, WebhookVerificationError } from '@ecomgate/client';
import { AS_OPERATOR, card, DEMO_SHOP, startGateway, type TestGateway } from './support/gateway.js';
import { type ReceivedWebhook, WebhookReceiver } from './support/webhookReceiver.js';
import { DECLINED_CARD } from './support/cards.js';

/** verifyWebhook over webhooks a real gateway delivered to a real HTTP endpoint. */

let sequence = 0;
function order(extra: Partial<PaymentRequest> = {}): PaymentRequest {
  sequence++;
  return {
    amount: 5000 + sequence,
    currency: 'EUR',
    description: `Order ${sequence}`,
    tracking_id: `hook-${randomUUID()}`,
    credit_card: card(),
    ...extra,
  };
}

describe('@ecomgate/client: verifyWebhook', () => {
  let gw: TestGateway;
  let gateway: Gateway;
  let receiver: WebhookReceiver;
  let publicKey: string;
  const shop = { shopId: DEMO_SHOP.id, secretKey: DEMO_SHOP.secret };

  before(async () => {
    gw = await startGateway('sqlite');
    gateway = new Gateway({ ...shop, baseUrl: gw.url, timeoutMs: 10_000 });
    receiver = await WebhookReceiver.start();
    const answer = await gw.request('GET', `/admin/shops/${DEMO_SHOP.id}`, undefined, AS_OPERATOR);
    publicKey = answer.body.public_key;
  });
  after(async () => {
    await gw.close();
    await receiver.close();
  });

  /** Pays with the receiver as notification_url and answers the webhook as it arrived. */
  async function delivered(extra: Partial<PaymentRequest> = {}): Promise<{ webhook: ReceivedWebhook; uid: string }> {
    const payment = await gateway.payment(order({ notification_url: receiver.url, ...extra }));
    const count = receiver.received.length;
    await gw.app.webhooks.drain();
    await receiver.waitFor(count + 1);
    const webhook = receiver.received.find((w) => w.body?.transaction?.uid === payment.uid);
    assert.ok(webhook, 'the webhook of this payment arrived');
    return { webhook, uid: payment.uid };
  }

  it('a delivered webhook passes with the public key and the Basic credentials, and answers its transaction', async () => {
    const { webhook, uid } = await delivered();
    const transaction = verifyWebhook(webhook.raw, webhook.headers, { publicKey, ...shop });
    assert.equal(transaction.uid, uid);
    assert.equal(transaction.status, 'successful');
    assert.deepEqual(transaction, (await gw.get(`/transactions/${uid}`)).body.transaction);
    // Either check alone, as the merchant chooses; the body as a string; Fetch Headers.
    assert.equal(verifyWebhook(webhook.raw, webhook.headers, { publicKey }).uid, uid);
    assert.equal(verifyWebhook(webhook.raw, webhook.headers, shop).uid, uid);
    assert.equal(verifyWebhook(webhook.raw.toString('utf8'), webhook.headers, { publicKey }).uid, uid);
    const fetchHeaders = new Headers(Object.entries(webhook.headers).map(([k, v]) => [k, String(v)] as [string, string]));
    assert.equal(verifyWebhook(new Uint8Array(webhook.raw), fetchHeaders, { publicKey, ...shop }).uid, uid);
  });

  it('a declined payment notifies too, and verifies', async () => {
    const { webhook } = await delivered({ credit_card: card(DECLINED_CARD) });
    const transaction = verifyWebhook(webhook.raw, webhook.headers, { publicKey, ...shop });
    assert.equal(transaction.status, 'failed');
    assert.equal(transaction.message, 'Payment was declined');
  });

  it('a tampered body, a re-serialized body, a wrong key or a missing signature throws WebhookVerificationError', async () => {
    const { webhook } = await delivered();
    const tampered = Buffer.from(webhook.raw.toString('utf8').replace('"successful"', '"failed"'));
    assert.notDeepEqual(tampered, webhook.raw);
    assert.throws(() => verifyWebhook(tampered, webhook.headers, { publicKey }), WebhookVerificationError);
    assert.throws(() => verifyWebhook(JSON.stringify(webhook.body, null, 1), webhook.headers, { publicKey }), WebhookVerificationError);
    const otherKey = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({ type: 'spki', format: 'der' }).toString('base64');
    assert.throws(() => verifyWebhook(webhook.raw, webhook.headers, { publicKey: otherKey }), /does not match/);
    const { 'content-signature': _signature, ...unsigned } = webhook.headers;
    assert.throws(() => verifyWebhook(webhook.raw, unsigned, { publicKey }), /no Content-Signature/);
    assert.throws(
      () => verifyWebhook(webhook.raw, { ...webhook.headers, 'content-signature': 'not base64!' }, { publicKey }),
      WebhookVerificationError,
    );
    const error = (() => {
      try {
        verifyWebhook(tampered, webhook.headers, { publicKey });
      } catch (e) {
        return e;
      }
    })();
    assert.ok(error instanceof GatewayError, 'a GatewayError like every error of the client');
  });

  it('a wrong secret key, a wrong shop id or no credentials throws, even when the signature is good', async () => {
    const { webhook } = await delivered();
    assert.throws(
      () => verifyWebhook(webhook.raw, webhook.headers, { publicKey, shopId: DEMO_SHOP.id, secretKey: 'wrong' }),
      /Basic credentials are not/,
    );
    assert.throws(() => verifyWebhook(webhook.raw, webhook.headers, { shopId: 362, secretKey: DEMO_SHOP.secret }), WebhookVerificationError);
    const { authorization: _auth, ...anonymous } = webhook.headers;
    assert.throws(() => verifyWebhook(webhook.raw, anonymous, shop), /no Basic credentials/);
  });

  it('a chargeback webhook carries the disputed payment as parent_transaction', async () => {
    const { uid } = await delivered();
    const count = receiver.received.length;
    const chargeback = await gateway.chargeback({ parent_uid: uid, amount: 100, reason: 'Fraud' });
    await gw.app.webhooks.drain();
    await receiver.waitFor(count + 1);
    const webhook = receiver.received.find((w) => w.body?.transaction?.uid === chargeback.uid);
    assert.ok(webhook, 'the chargeback was notified');
    const transaction = verifyWebhook(webhook.raw, webhook.headers, { publicKey, ...shop });
    assert.equal(transaction.type, 'chargeback');
    assert.equal(transaction.parent_transaction?.uid, uid);
    assert.equal(transaction.parent_transaction?.type, 'payment');
  });

  it('misuse is a TypeError, not a verification failure: nothing to check, half the credentials, a parsed body', async () => {
    const { webhook } = await delivered();
    assert.throws(() => verifyWebhook(webhook.raw, webhook.headers, {}), TypeError);
    assert.throws(() => verifyWebhook(webhook.raw, webhook.headers, { secretKey: DEMO_SHOP.secret }), TypeError);
    assert.throws(() => verifyWebhook(webhook.body, webhook.headers, { publicKey }), /raw body/);
    assert.throws(() => verifyWebhook(webhook.raw, webhook.headers, { publicKey: 'bm90IGEga2V5' }), TypeError);
  });
});
