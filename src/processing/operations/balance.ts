import { validationError } from '../../domain/errors.js';
import { unwrapRequest } from '../../domain/request.js';
import type { ApiResponse, Invocation, ProcessingContext } from '../context.js';

/**
 * `POST /balance`: the merchant account at the acquirer. The request names the currency, or the account
 * (as the acquirer reported it earlier, `<connector>-<shop>-<currency>`), or the gateway id with a currency.
 * An account is always checked (this shop's, and of the currency named, if one is), and a gateway id must
 * be the one the shop's acquirer answers for: a balance is never answered for something else than asked.
 */
/**
 * A JSON number up to 2^53 - 1, as always; beyond, the exact digits as a string, since JavaScript's
 * JSON.parse (and many other parsers) would silently round a number that large.
 */
export function exactMinorUnits(amount: bigint): number | string {
  return amount <= BigInt(Number.MAX_SAFE_INTEGER) && amount >= BigInt(Number.MIN_SAFE_INTEGER) ? Number(amount) : amount.toString();
}

export async function balance(ctx: ProcessingContext, invocation: Invocation): Promise<ApiResponse> {
  const { shop } = invocation;
  const reader = unwrapRequest(invocation.body);
  const account = reader.string('account', { max: 64 });
  const gatewayId = gatewayIdOf(reader);
  let accountCurrency: string | undefined;
  if (account !== undefined) {
    const match = /^[a-z]+-(\d+)-([A-Z]{3})$/.exec(account);
    if (!match || Number(match[1]) !== shop.id) reader.fail('account', 'is invalid');
    else accountCurrency = match[2];
  }
  const currency = reader.has('currency') || account === undefined ? reader.currency() : accountCurrency;
  if (accountCurrency !== undefined && currency && currency !== accountCurrency) reader.fail('account', 'is invalid');
  reader.check();
  if (!currency) throw validationError([{ path: ['currency'], message: "can't be blank" }]);
  const answer = await ctx.acquirerFor(shop).balance(shop.id, currency, shop.acquirerSettings);
  if (gatewayId !== undefined && gatewayId !== answer.gatewayId) throw validationError([{ path: ['gateway_id'], message: 'is invalid' }]);
  return {
    statusCode: 200,
    body: {
      status: 'successful',
      result: {
        gatewayId: answer.gatewayId,
        account: answer.account,
        amount: exactMinorUnits(answer.amount),
        currency: answer.currency,
        bankInfo: answer.bankInfo,
      },
    },
  };
}

/** `gateway_id` as the answer gives it (`gatewayId`, a number) or as its digits in a string. */
function gatewayIdOf(reader: ReturnType<typeof unwrapRequest>): number | undefined {
  const raw = reader.raw('gateway_id');
  if (typeof raw === 'number') return Number.isSafeInteger(raw) && raw > 0 ? raw : reader.fail('gateway_id', 'is invalid');
  const text = reader.string('gateway_id', { max: 64 });
  if (text === undefined) return undefined;
  return /^\d{1,15}$/.test(text) ? Number(text) : reader.fail('gateway_id', 'is invalid');
}
