import { isExpired, maskOf } from '../domain/card.js';
import { lockCardOperations } from '../store/transactions.js';
import { flaggingCardRefusals, guardCardNumber } from './cardGuard.js';
import { recordNotFound, validationError } from '../domain/errors.js';
import { type RequestReader, unwrapRequest } from '../domain/request.js';
import { findCard, findCardByStamp, updateCard } from '../store/cards.js';
import type { CardTable } from '../store/schema.js';
import type { Shop } from '../domain/shop.js';
import { saveCard, type CardView, cardView } from '../vault/cards.js';
import { readCardFields } from './steps/card.js';
import type { ApiResponse, Invocation, ProcessingContext } from './context.js';

/**
 * The bare card object `/credit_cards` answers with (no wrapper, spec §2.2). `bin` is the masked view's:
 * the truncation rule of domain/card.ts cuts it for short numbers, so it shows nothing a transaction's
 * `credit_card` does not show already. The issuer's country, name and product are null: the sandbox
 * knows no issuers.
 */
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
    bin: view.bin,
    issuer_country: view.issuer_country,
    issuer_name: view.issuer_name,
    product: view.product,
  };
}

interface CardChanges {
  holder?: string;
  exp_month?: number;
  exp_year?: number;
}

/** An expiry in the past, in the wording clients match on (spec §2.3). */
const EXPIRED = { message: 'is expired', sentence: 'Date is expired' };

/**
 * The holder and expiry of an update, the request alone (checked before the token is looked up). A
 * `number` sent along is not read: a token's number never changes, and telling whether a number is the
 * token's would let a shop try candidate numbers against a card it was only shown masked.
 */
function readCardChanges(reader: RequestReader, now: Date): CardChanges {
  const holder = reader.string('holder');
  const expMonth = reader.integer('exp_month', 1, 12);
  const expYear = reader.integer('exp_year', 1900, 2200);
  if (expMonth !== undefined && expYear !== undefined && isExpired(expMonth, expYear, now))
    reader.fail('exp_date', EXPIRED.message, EXPIRED.sentence);
  reader.check();
  return { holder, exp_month: expMonth, exp_year: expYear };
}

/** Writes the changes to the shop's card; a half-given expiry is checked with the stored other half. */
async function changeCard(ctx: ProcessingContext, shop: Shop, existing: CardTable, changes: CardChanges, now: Date): Promise<ApiResponse> {
  if (changes.exp_month !== undefined || changes.exp_year !== undefined) {
    if (isExpired(changes.exp_month ?? existing.exp_month, changes.exp_year ?? existing.exp_year, now))
      throw validationError([{ path: ['exp_date'], ...EXPIRED }]);
  }
  const updated = await ctx.store.write((tx) => updateCard(tx, shop.id, existing.token, changes, now.toISOString()));
  // The row was read a moment ago; only a concurrent erasure could take it away.
  if (!updated) throw recordNotFound();
  return { statusCode: 200, body: tokenBody(cardView(updated)) };
}

/** A path segment that can name a stored token: within the token column's size, no NUL (PostgreSQL refuses it in text). */
const isTokenLike = (token: string) => token.length > 0 && token.length <= 64 && !token.includes('\u0000');

/**
 * `POST /credit_cards/{token}` and `PUT /v2/credit_cards/{token}`: the holder and expiry of the shop's
 * card. The token names a record here, so an unknown or another shop's token is 404 `Record not found`.
 */
export async function updateCreditCard(ctx: ProcessingContext, invocation: Invocation): Promise<ApiResponse> {
  const { shop } = invocation;
  const now = ctx.now();
  const changes = readCardChanges(unwrapRequest(invocation.body), now);
  const token = invocation.params?.token ?? '';
  const existing = isTokenLike(token) ? await findCard(ctx.store.sql, shop.id, token) : undefined;
  if (!existing) throw recordNotFound();
  return changeCard(ctx, shop, existing, changes, now);
}

/**
 * `POST /credit_cards` (and `POST /v2/credit_cards`): with a number, stores the card and answers its
 * token; with a token (and no number), updates that token's holder and expiry.
 */
export async function saveCreditCard(ctx: ProcessingContext, invocation: Invocation): Promise<ApiResponse> {
  const { shop } = invocation;
  const now = ctx.now();
  const reader = unwrapRequest(invocation.body);
  if (reader.has('token') && !reader.has('number')) {
    const token = reader.required('token', { max: 64 });
    const changes = readCardChanges(reader, now);
    const existing = await findCard(ctx.store.sql, shop.id, token);
    // A token in the body is a field of the request: unknown, it is a field error (`Token does not exist.`).
    if (!existing) throw validationError([{ path: ['token'], message: 'does not exist' }]);
    return changeCard(ctx, shop, existing, changes, now);
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
