import type { Traffic } from './load.js';
import { childRequestBody, paths, paymentRequestBodyFor } from './payments.js';
import { approvedCards } from '../test/support/cards.js';
import { type Credentials, authHeaders } from '../test/support/http.js';

/**
 * Connections that submit a fixed number of async payments (seeding, submit→completed, slow bank):
 * moderate, as a merchant's integration would, and the same for the zero-latency and slow-bank runs
 * so their rates compare.
 */
export const SUBMIT_CONNECTIONS = 20;

/** Payment bodies on `cardCount` approved cards, each call the next card's. */
export function cycleCards(cardCount: number): () => string {
  const bodies = approvedCards(cardCount).map(paymentRequestBodyFor);
  let next = 0;
  return () => bodies[next++ % bodies.length]!;
}

/**
 * Payment traffic for the load generator: every send takes the next card of a pool, so concurrent
 * payments are on different cards, as a merchant's customers' are (autocannon's fixed request lists
 * would have all connections start on the same card together).
 */
export function paymentTraffic(shop: Credentials, mode: 'sync' | 'async', cardCount: number): Traffic {
  const nextCard = cycleCards(cardCount);
  return {
    method: 'POST',
    headers: authHeaders(shop),
    requests: [
      {
        path: mode === 'sync' ? paths.syncPayment : paths.asyncPayment,
        setupRequest: (request) => ({ ...request, body: nextCard() }),
      },
    ],
  };
}

/** Status polls cycling through known request ids (fixed paths: autocannon builds each once). */
export function statusPollTraffic(shop: Credentials, requestIds: string[]): Traffic {
  return { method: 'GET', headers: authHeaders(shop), requests: requestIds.map((id) => ({ path: paths.status(id) })) };
}

/**
 * Authorization then capture of its full amount, on each connection in turn: the capture names the
 * authorization its connection was just answered (autocannon keeps a context per connection). Both
 * requests count in the rate.
 */
export function authorizationCaptureTraffic(shop: Credentials, cardCount: number, amount: number): Traffic {
  const nextCard = cycleCards(cardCount);
  return {
    method: 'POST',
    headers: authHeaders(shop),
    requests: [
      {
        path: paths.authorization,
        setupRequest: (request) => ({ ...request, body: nextCard() }),
        onResponse: (status, body, context) => {
          context.parentUid = status === 200 ? (JSON.parse(body) as { transaction: { uid: string } }).transaction.uid : 'none';
        },
      },
      { path: paths.capture, setupRequest: (request, context) => ({ ...request, body: childRequestBody(String(context.parentUid), amount) }) },
    ],
  };
}

/** Partial refunds of one minor unit, cycling through successful payments (many refunds fit in each). */
export function refundTraffic(shop: Credentials, paymentUids: string[]): Traffic {
  let next = 0;
  return {
    method: 'POST',
    headers: authHeaders(shop),
    requests: [
      {
        path: paths.refund,
        setupRequest: (request) => ({ ...request, body: childRequestBody(paymentUids[next++ % paymentUids.length]!, 1, 'bench refund') }),
      },
    ],
  };
}

/** GET /transactions/{uid}, cycling through known transactions. */
export function queryByUidTraffic(shop: Credentials, uids: string[]): Traffic {
  return { method: 'GET', headers: authHeaders(shop), requests: uids.map((uid) => ({ path: paths.transaction(uid) })) };
}
