import { isExpired, maskOf } from '../domain/card.js';
import { lockCardOperations } from '../store/transactions.js';
import { flaggingCardRefusals, guardCardNumber } from './cardGuard.js';
import { validationError } from '../domain/errors.js';
import { unwrapRequest } from '../domain/request.js';
import { findCard, findCardByStamp, updateCard } from '../store/cards.js';
import { saveCard, type CardView, cardView } from '../vault/cards.js';
import { readCardFields } from './steps/card.js';
import type { ApiResponse, Invocation, ProcessingContext } from './context.js';

/** The bare card object `/credit_cards` answers with (no wrapper, spec §2.2). */
function tokenBody(view: CardView) {
  return {
    token: view.token,
    holder: view.holder,
    brand: view.brand,
    first_1: view.first_1,
    last_4: view.last_4,
    exp_month: view.exp_month,
    exp_year: view.exp_year,
    stamp: view.stamp,
  };
}

/**
 * `POST /credit_cards`: with a number, stores the card and answers its token; with a token (and no
 * number), updates that token's holder and expiry.
 */
export async function saveCreditCard(ctx: ProcessingContext, invocation: Invocation): Promise<ApiResponse> {
  const { shop } = invocation;
  const now = ctx.now();
  const reader = unwrapRequest(invocation.body);
  if (reader.has('token') && !reader.has('number')) {
    const token = reader.required('token', { max: 64 });
    const holder = reader.string('holder');
    const expMonth = reader.integer('exp_month', 1, 12);
    const expYear = reader.integer('exp_year', 1900, 2200);
    if (expMonth !== undefined && expYear !== undefined && isExpired(expMonth, expYear, now))
      reader.fail('exp_date', 'is expired', 'Date is expired');
    reader.check();
    const existing = await findCard(ctx.store.sql, shop.id, token);
    if (!existing) throw validationError([{ path: ['token'], message: 'does not exist' }]);
    if ((expMonth !== undefined || expYear !== undefined) && isExpired(expMonth ?? existing.exp_month, expYear ?? existing.exp_year, now)) {
      throw validationError([{ path: ['exp_date'], message: 'is expired', sentence: 'Date is expired' }]);
    }
    const updated = await ctx.store.write((tx) =>
      updateCard(tx, shop.id, token, { holder, exp_month: expMonth, exp_year: expYear }, now.toISOString()),
    );
    return { statusCode: 200, body: tokenBody(cardView(updated!)) };
  }
  // The card members sit at the top level of this request, not under credit_card.
  const input = readCardFields(reader, now, { withVerificationValue: false });
  reader.check();
  if (input?.kind !== 'number') throw validationError([{ path: ['number'], message: "can't be blank" }]);
  const { card } = input;
  const saved = await flaggingCardRefusals(ctx, shop.id, () =>
    ctx.store.transaction(async (tx) => {
      const stamp = ctx.vault.stamp(shop.id, card.number);
      const shown = maskOf(card.number);
      const [, , existing] = await Promise.all([
        lockCardOperations(tx, shop.id, shown),
        guardCardNumber(ctx, tx, shop.id, shown, stamp, ['number']),
        findCardByStamp(tx, shop.id, stamp),
      ]);
      const { stored, written } = saveCard(tx, ctx.vault, shop.id, card, stamp, existing, now.toISOString());
      tx.commitWithLast();
      await written;
      return stored;
    }),
  );
  return { statusCode: 200, body: tokenBody(cardView(saved)) };
}
