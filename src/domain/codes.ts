/**
 * The result codes of the API (spec §3) with their texts, as the original gateway writes them. `message`
 * is absent where it names the declined operation ("Payment was declined", declineMessage) or the risk
 * rule that failed; it is null for the statuses that are not an outcome yet.
 *
 * Every transaction that is not successful carries one of these in `code` with its `friendly_message`
 * (the README's test card table lists them per card). Who sets which:
 *   cardDeclined, insufficientFunds, authenticationFailed (3-D Secure status U or N)  the sandbox bank
 *   authenticationFailed (the customer failed the challenge)          the 3-D Secure page
 *   riskRefused                                                        the shop's risk rules, in transaction A
 *   acquirerError (the bank answered 5xx), notReceived (an inquiry found nothing)   the pipeline
 *   expired (an `incomplete` transaction past its expiry)               the expiry sweeper and the page
 *   pending, challenge                                                  not outcomes yet: in doubt, 3-D Secure
 * A refusal that creates no transaction (422: card guard, expired card, bad input) has no result code.
 * The codes are ecomgate's since its first release and clients match on them: they stay as they are where
 * the platform's current list numbers the same outcome differently (it has insufficient funds as F.0114).
 */
export const results = {
  successful: { code: 'S.0000', message: 'Successfully processed', friendly_message: 'The operation was successfully processed.' },
  pending: { code: 'P.1001', message: null, friendly_message: 'The bank has not confirmed the outcome yet.' },
  challenge: { code: 'P.4011', message: null, friendly_message: 'The customer has to confirm the operation (3-D Secure).' },
  cardDeclined: { code: 'F.0105', friendly_message: 'The card was declined by the issuing bank' },
  insufficientFunds: { code: 'F.0107', message: 'Insufficient funds', friendly_message: 'Insufficient funds on the card' },
  expired: { code: 'F.0109', message: 'Transaction has expired', friendly_message: 'The customer did not complete the payment in time.' },
  authenticationFailed: { code: 'F.0301', friendly_message: '3-D Secure authentication failed' },
  riskRefused: { code: 'F.0401', friendly_message: 'The transaction was rejected by the risk rules of the shop.' },
  acquirerError: { code: 'F.0500', message: 'Acquirer error', friendly_message: 'The bank could not process the operation. Please try again later.' },
  notReceived: {
    code: 'F.0501',
    message: 'Acquirer did not receive the operation',
    friendly_message: 'The bank did not receive the operation. Please try again.',
  },
} as const;

export type ResultCode = (typeof results)[keyof typeof results]['code'];

/** The API v3 answer to a request its validation refused (spec §10): the 422's code and its fixed sentence. */
export const invalidRequestParams = { code: 'E.1025', friendly_message: 'Invalid request params' } as const;
