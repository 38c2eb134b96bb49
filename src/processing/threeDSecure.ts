import type { AcquirerCall, AcquirerOutcome } from '../acquirers/connector.js';
import { results } from '../domain/codes.js';
import type { Shop } from '../domain/shop.js';
import { declineMessage } from '../domain/transaction.js';
import { isCanonicalUid } from '../domain/uid.js';
import type { TransactionTable } from '../store/schema.js';
import { findTransactionByUid, settleTransaction } from '../store/transactions.js';
import { findCard } from '../store/cards.js';
import type { ProcessingContext } from './context.js';
import { callAcquirer, recordOutcome } from './pipeline.js';

/** The transaction a customer-facing page (challenge, receipt) names in its path; a malformed uid names none. */
export async function transactionOfPage(ctx: ProcessingContext, uid: string): Promise<TransactionTable | undefined> {
  return isCanonicalUid(uid) ? findTransactionByUid(ctx.store.sql, uid) : undefined;
}

/**
 * The end of a 3-D Secure challenge (spec §6). The page's submit first moves the transaction from
 * `incomplete` to `processing` (one winner among double submits and the expiry sweeper), then either asks
 * the acquirer for the authorization the challenge was guarding, or records the failed authentication
 * without asking anyone. Transaction B writes the webhook as for any final status.
 */
export async function completeChallenge(ctx: ProcessingContext, shop: Shop, row: TransactionTable, passed: boolean): Promise<TransactionTable> {
  const now = ctx.now();
  const claimed = await ctx.store.transaction((tx) =>
    settleTransaction(tx, row.uid, ['incomplete'], {
      status: 'processing',
      updated_at: now.toISOString(),
      next_inquiry_at: new Date(now.getTime() + ctx.acquirerTimeoutMs + ctx.inquiryDelayMs).toISOString(),
    }),
  );
  if (!claimed) return (await findTransactionByUid(ctx.store.sql, row.uid))!;

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
