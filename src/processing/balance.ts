import { validationError } from '../domain/errors.js';
import { unwrapRequest } from '../domain/request.js';
import type { ApiResponse, Invocation, ProcessingContext } from './context.js';

/**
 * `POST /balance`: the merchant account at the acquirer. The request names the currency, or the account
 * (as the acquirer reported it earlier, `<connector>-<shop>-<currency>`), or the gateway id with a currency.
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
  reader.string('gateway_id', { max: 64 });
  let currency: string | undefined;
  if (account !== undefined && !reader.has('currency')) {
    const match = /^[a-z]+-(\d+)-([A-Z]{3})$/.exec(account);
    if (!match || Number(match[1]) !== shop.id) reader.fail('account', 'is invalid');
    else currency = match[2];
  } else {
    currency = reader.currency();
  }
  reader.check();
  if (!currency) throw validationError([{ path: ['currency'], message: "can't be blank" }]);
  const answer = await ctx.acquirerFor(shop).balance(shop.id, currency, shop.acquirerSettings);
  return {
    statusCode: 200,
    body: {
      status: 'successful',
      result: { gatewayId: answer.gatewayId, account: answer.account, amount: exactMinorUnits(answer.amount), currency: answer.currency, bankInfo: answer.bankInfo },
    },
  };
}
