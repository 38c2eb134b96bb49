import type { CardData } from '../acquirers/connector.js';
import { isExpired, isValidCardNumber } from '../domain/card.js';
import { validationError } from '../domain/errors.js';
import type { RequestReader } from '../domain/request.js';
import type { CardTable } from '../store/schema.js';
import { findCard } from '../store/cards.js';
import type { PlainCard } from '../vault/cards.js';
import type { ProcessingContext } from './context.js';

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
  /** Present when the card came as a number and must be stored in the vault. */
  toSave?: PlainCard;
  /** Present when the card came as a token. */
  stored?: CardTable;
}

/** The state check of a card: a token must exist for this shop and its card must not be expired. */
export async function resolveCard(ctx: ProcessingContext, shopId: number, input: CardInput, field = 'credit_card'): Promise<ResolvedCard> {
  if (input.kind === 'number') {
    const { card } = input;
    return {
      data: { number: card.number, verificationValue: input.verificationValue, holder: card.holder, expMonth: card.exp_month, expYear: card.exp_year },
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
    stored,
  };
}
