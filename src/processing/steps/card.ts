import type { CardData } from '../../acquirers/connector.js';
import { isExpired, isValidCardNumber, maskOf } from '../../domain/card.js';
import { duplicateTransaction, validationError } from '../../domain/errors.js';
import type { RequestReader } from '../../domain/request.js';
import type { TransactionType } from '../../domain/transaction.js';
import { findCard, findCardByStamp } from '../../store/cards.js';
import type { CardTable } from '../../store/schema.js';
import type { Tx } from '../../store/sql.js';
import { findRecentDuplicate, lockCardOperations } from '../../store/transactions.js';
import { type PlainCard, saveCard } from '../../vault/cards.js';
import { guardCardNumber } from '../cardGuard.js';
import type { ProcessingContext } from '../context.js';
import { duplicateSince } from '../duplicates.js';

/**
 * The card of an operation that takes one (payment, authorization, tokenization, check-up, payout,
 * credit): read from the request, resolved before transaction A, checked and saved inside it.
 */

/** A card as a request gave it: the number itself, or a token of the vault. */
export type CardInput =
  | { kind: 'number'; card: PlainCard; verificationValue?: string }
  | { kind: 'token'; token: string; verificationValue?: string };

const expiredSentence = 'Date is expired';

/** Reads `credit_card` (or `recipient_credit_card`); the shape alone, no lookups. */
export function readCard(
  reader: RequestReader,
  name: string,
  now: Date,
  options: { tokenOnly?: boolean; withVerificationValue?: boolean } = {},
): CardInput | undefined {
  const card = reader.object(name, { required: true });
  return card && readCardFields(card, now, options);
}

/** The card members themselves, from whichever object holds them. */
export function readCardFields(
  card: RequestReader,
  now: Date,
  options: { tokenOnly?: boolean; withVerificationValue?: boolean } = {},
): CardInput | undefined {
  const verificationValue = options.withVerificationValue === false ? undefined : card.string('verification_value', { max: 4 });
  if (verificationValue !== undefined && !/^\d{3,4}$/.test(verificationValue)) card.fail('verification_value', 'is invalid');
  if (card.has('token') && !card.has('number')) {
    const token = card.string('token', { max: 64 });
    return token === undefined ? undefined : { kind: 'token', token, verificationValue };
  }
  if (options.tokenOnly) {
    card.fail('token', "can't be blank");
    return undefined;
  }
  const number = card.string('number', { required: true, max: 19 });
  if (number !== undefined && !isValidCardNumber(number)) card.fail('number', 'is invalid');
  const holder = card.string('holder') ?? null;
  const expMonth = card.integer('exp_month', 1, 12, { required: true });
  const expYear = card.integer('exp_year', 1900, 2200, { required: true });
  if (expMonth !== undefined && expYear !== undefined && isExpired(expMonth, expYear, now)) {
    card.fail('exp_date', 'is expired', expiredSentence);
  }
  if (number === undefined || expMonth === undefined || expYear === undefined) return undefined;
  return { kind: 'number', card: { number, holder, exp_month: expMonth, exp_year: expYear }, verificationValue };
}

export interface ResolvedCard {
  /** For the acquirer call only; never stored in clear. */
  data: CardData;
  /** The shop's stamp of the number: the card's identity for risk rules and the duplicate check. */
  stamp: string;
  /** Present when the card came as a number and must be stored in the vault. */
  toSave?: PlainCard;
  /** Present when the card came as a token. */
  stored?: CardTable;
}

/** The state check of a card, before A: a token must exist for this shop and its card must not be expired. */
export async function resolveCard(ctx: ProcessingContext, shopId: number, input: CardInput, field = 'credit_card'): Promise<ResolvedCard> {
  if (input.kind === 'number') {
    const { card } = input;
    return {
      data: {
        number: card.number,
        verificationValue: input.verificationValue,
        holder: card.holder,
        expMonth: card.exp_month,
        expYear: card.exp_year,
      },
      stamp: ctx.vault.stamp(shopId, card.number),
      toSave: card,
    };
  }
  const stored = await findCard(ctx.store.sql, shopId, input.token);
  if (!stored) throw validationError([{ path: [field, 'token'], message: 'does not exist' }]);
  if (isExpired(stored.exp_month, stored.exp_year, ctx.now())) {
    throw validationError([{ path: [field, 'exp_date'], message: 'is expired', sentence: expiredSentence }]);
  }
  return {
    data: {
      number: ctx.vault.decrypt(stored.pan_enc),
      verificationValue: input.verificationValue,
      holder: stored.holder,
      expMonth: stored.exp_month,
      expYear: stored.exp_year,
    },
    stamp: stored.stamp,
    stored,
  };
}

/** What `duplicate_check` compares: the same operation, amount and currency on the same card, recently. */
export interface CardDuplicate {
  type: TransactionType;
  amount: number;
  currency: string;
  since: string;
}

/** The duplicate check the request asked for, or false when it turned it off. */
export function cardDuplicate(
  type: TransactionType,
  request: { duplicateCheck: boolean; amount: number; currency: string },
  now: Date,
): CardDuplicate | false {
  return request.duplicateCheck && { type, amount: request.amount, currency: request.currency, since: duplicateSince(now) };
}

/**
 * The card half of transaction A: the lock on the card's shown digits, the card guard (a number sent
 * now), the duplicate check, and the card row saved (a number) or taken as it is (a token). Every read is
 * issued before the first answer is awaited, so they travel in one round trip; the card's write is
 * answered as `written`, to be awaited with the transaction's other writes.
 */
export async function checkCard(
  ctx: ProcessingContext,
  tx: Tx,
  shopId: number,
  card: ResolvedCard,
  numberPath: string[],
  duplicate: CardDuplicate | false,
): Promise<{ stored: CardTable; written?: Promise<void> }> {
  const { stamp } = card;
  const shown = card.stored ?? maskOf(card.data.number);
  // Awaited together, so a failure of one (a lost connection, the guard's refusal) never leaves another
  // unawaited; the answers arrive in the order sent, the lock's first.
  const [, , duplicated, existing] = await Promise.all([
    lockCardOperations(tx, shopId, shown),
    card.toSave ? guardCardNumber(ctx, tx, shopId, shown, stamp, numberPath) : undefined,
    duplicate ? findRecentDuplicate(tx, { shopId, ...duplicate, cardStamp: stamp }) : false,
    card.toSave ? findCardByStamp(tx, shopId, stamp) : undefined,
  ]);
  if (duplicated) throw duplicateTransaction();
  if (!card.toSave) return { stored: card.stored! };
  return saveCard(tx, ctx.vault, shopId, card.toSave, stamp, existing, ctx.now().toISOString());
}
