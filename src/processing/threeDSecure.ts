import type { AcquirerCall, AcquirerOutcome } from '../acquirers/connector.js';
import { results } from '../domain/codes.js';
import { validationError } from '../domain/errors.js';
import { unwrapRequest } from '../domain/request.js';
import type { Shop } from '../domain/shop.js';
import { declineMessage } from '../domain/transaction.js';
import { isCanonicalUid } from '../domain/uid.js';
import type { TransactionTable } from '../store/schema.js';
import { findTransactionByUid, settleTransaction } from '../store/transactions.js';
import { findCard } from '../store/cards.js';
import type { ApiResponse, ProcessingContext } from './context.js';
import { expireIfDue } from './expiry.js';
import { shopTransaction } from './operations/query.js';
import { callAcquirer, recordOutcome } from './pipeline.js';
import { transactionResponse } from './respond.js';

/** The transaction a customer-facing page (challenge, receipt) names in its path; a malformed uid names none. */
export async function transactionOfPage(ctx: ProcessingContext, uid: string): Promise<TransactionTable | undefined> {
  return isCanonicalUid(uid) ? findTransactionByUid(ctx.store.sql, uid) : undefined;
}

/** How a challenge ended: the transaction as it now stands, and whether this call finished it. */
export interface ChallengeEnd {
  transaction: TransactionTable;
  /** False when another submit (the page, the merchant's return, the expiry sweeper) got there first. */
  finishedHere: boolean;
}

/**
 * The end of a 3-D Secure challenge (spec §6), for the page's buttons and the merchant's return alike. It
 * first moves the transaction from `incomplete` to `processing` (one winner among double submits, the
 * merchant's return and the expiry sweeper), then either asks the acquirer for the authorization the
 * challenge was guarding, or records the failed authentication without asking anyone. Transaction B
 * writes the webhook as for any final status.
 */
export async function completeChallenge(ctx: ProcessingContext, shop: Shop, row: TransactionTable, passed: boolean): Promise<ChallengeEnd> {
  const now = ctx.now();
  const claimed = await ctx.store.transaction((tx) =>
    settleTransaction(tx, row.uid, ['incomplete'], {
      status: 'processing',
      updated_at: now.toISOString(),
      next_inquiry_at: new Date(now.getTime() + ctx.acquirerTimeoutMs + ctx.inquiryDelayMs).toISOString(),
    }),
  );
  if (!claimed) return { transaction: (await findTransactionByUid(ctx.store.sql, row.uid))!, finishedHere: false };
  return { transaction: await finishClaimed(ctx, shop, row, claimed, passed), finishedHere: true };
}

/** The claimed challenge's outcome: the failed authentication recorded, or the acquirer asked. */
async function finishClaimed(
  ctx: ProcessingContext,
  shop: Shop,
  row: TransactionTable,
  claimed: TransactionTable,
  passed: boolean,
): Promise<TransactionTable> {
  const challenge = row.three_d_secure ? (JSON.parse(row.three_d_secure) as Record<string, unknown>) : {};
  if (!passed) {
    const threeDSecure = {
      ...challenge,
      status: 'failed',
      message: 'Authentication failed',
      pa_status: 'N',
      eci: null,
      fail_reason: 'Customer failed the challenge',
    };
    return recordOutcome(
      ctx,
      claimed,
      {
        outcome: 'declined',
        code: results.authenticationFailed.code,
        message: declineMessage(row.type),
        friendlyMessage: results.authenticationFailed.friendly_message,
        bankCode: '',
        refId: '',
        gatewayId: 0,
        threeDSecure,
      },
      0,
    );
  }

  const card = await findCard(ctx.store.sql, shop.id, row.card_token ?? '');
  if (!card) throw new Error(`3-D Secure: card of transaction ${row.uid} is gone`);
  const call: AcquirerCall = {
    reference: row.acquirer_ref,
    shopId: shop.id,
    amount: Number(row.amount),
    currency: row.currency,
    card: { number: ctx.vault.decrypt(card.pan_enc), holder: card.holder, expMonth: card.exp_month, expYear: card.exp_year },
    // The customer has just authenticated: the acquirer gets the authorization itself.
    threeDSecure: false,
    billingAddress: row.billing_address ? JSON.parse(row.billing_address) : undefined,
    settings: shop.acquirerSettings,
  };
  const outcome = await callAcquirer(
    ctx,
    ctx.acquirerFor(shop),
    shop.acquirerSettings,
    claimed,
    (connector): Promise<AcquirerOutcome> =>
      row.type === 'tokenization' ? connector.verify(call) : connector.authorize(call, row.type === 'payment'),
  );
  const authenticated = { ...challenge, status: 'successful', message: 'Authenticated', pa_status: 'Y', eci: '05', fail_reason: null };
  const withAuthentication = outcome.outcome === 'approved' || outcome.outcome === 'declined' ? { ...outcome, threeDSecure: authenticated } : outcome;
  return recordOutcome(ctx, claimed, withAuthentication, 0);
}

/** What the merchant's server may send as the issuer's answer in the sandbox: whether the customer passed. */
const ISSUER_RESULTS = new Map([
  ['authenticated', true],
  ['failed', false],
]);

/** The merchant's return for a transaction whose challenge is over (or never was): the page shows the outcome, the API refuses. */
const challengeNotPending = () => validationError([{ path: ['base'], message: 'Transaction is not waiting for 3-D Secure authentication' }]);

/**
 * `POST /process/{uid}/return`: the merchant's server finishing a challenge with the issuer's answer
 * (`{"request":{"result":"authenticated"|"failed"}}`), with the effects of the page's buttons. Only the
 * shop's own transaction (any other uid is 404 `Record not found`, as for a status query), and only while
 * `incomplete`: past its expiry it is expired on the spot, as the page does, and a repeat or late call is
 * refused with 422 where the page would show the outcome. The request alone is checked first.
 */
export async function returnFromChallenge(ctx: ProcessingContext, shop: Shop, uid: string, body: unknown): Promise<ApiResponse> {
  const reader = unwrapRequest(body);
  const result = reader.string('result', { required: true, max: 32 });
  const passed = result === undefined ? undefined : ISSUER_RESULTS.get(result);
  if (result !== undefined && passed === undefined) reader.fail('result', 'is invalid');
  reader.check();
  const row = await expireIfDue(ctx, await shopTransaction(ctx, shop, uid));
  if (row.status !== 'incomplete') throw challengeNotPending();
  const end = await completeChallenge(ctx, shop, row, passed === true);
  if (!end.finishedHere) throw challengeNotPending();
  return transactionResponse(ctx, end.transaction);
}
