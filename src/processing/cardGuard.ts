import { cardNumberRefused, type ApiError } from '../domain/errors.js';
import { recordShopAlert } from '../store/alerts.js';
import { countLookalikeCards } from '../store/cards.js';
import type { Sql } from '../store/sql.js';
import type { ProcessingContext } from './context.js';

/**
 * The card guard: a shop that knows a card's shown digits (bin_8 and last_4, from a webhook or a log)
 * could tokenize or pay with the ~1,000 Luhn-valid numbers behind them and recognise the card by its
 * token or stamp. Beyond `maxNumbers` different numbers showing the same digits within `windowMs`, a
 * shop's request with yet another one is refused (422, nothing stored, no money moves) and flagged to the
 * operator. The count is read from the cards table, so it holds across processes; on PostgreSQL the
 * caller holds lockCardOperations (keyed by the same digits), so concurrent requests cannot both pass.
 */
export const CARD_ENUMERATION_ALERT = 'card_enumeration';

const refusals = new WeakSet<ApiError>();

/** Inside transaction A, under lockCardOperations, before the card is saved: one indexed count. */
export async function guardCardNumber(
  ctx: ProcessingContext,
  tx: Sql,
  shopId: number,
  shown: { bin_8: string; last_4: string },
  stamp: string,
  path: string[],
): Promise<void> {
  const { windowMs, maxNumbers } = ctx.cardGuard;
  if (maxNumbers <= 0) return;
  const since = new Date(ctx.now().getTime() - windowMs).toISOString();
  // Issued at the call (before the first await): the count travels with the other reads of A.
  const others = await countLookalikeCards(tx, shopId, shown, stamp, since);
  if (others < maxNumbers) return;
  const refusal = cardNumberRefused(path);
  refusals.add(refusal);
  throw refusal;
}

/** Runs the work; a refusal of the guard (its transaction rolled back) is then recorded for the operator. */
export async function flaggingCardRefusals<T>(ctx: ProcessingContext, shopId: number, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    if (refusals.has(err as ApiError)) {
      await ctx.store.transaction((tx) => recordShopAlert(tx, shopId, CARD_ENUMERATION_ALERT, ctx.now(), ctx.cardGuard.windowMs));
      ctx.cardGuard.onRefused(shopId);
    }
    throw err;
  }
}
