/**
 * What the core asks of a bank. Every call carries our reference, unique per transaction: a connector must
 * make a repeated reference a no-op that answers the first outcome, so an unknown outcome is settled by
 * `inquire`, never by charging again.
 */

export interface CardData {
  number: string;
  /** Present only for the call it came with; never stored. */
  verificationValue?: string;
  holder: string | null;
  expMonth: number;
  expYear: number;
}

export interface AcquirerCall {
  reference: string;
  shopId: number;
  amount: number;
  currency: string;
  /** Card operations (authorize, payout, checkup) carry the card; child operations the parent's reference. */
  card?: CardData;
  parentReference?: string;
  /** Shop has 3-D Secure on and the request did not skip it. */
  threeDSecure?: boolean;
  billingAddress?: Record<string, string | null>;
  settings: Record<string, unknown>;
}

export interface Approval {
  outcome: 'approved';
  authCode: string;
  rrn: string;
  bankCode: string;
  refId: string;
  gatewayId: number;
  message: string;
  billingDescriptor: string | null;
  avsResult?: string;
  cvcResult?: string;
  threeDSecure?: Record<string, unknown>;
}

export interface Decline {
  outcome: 'declined';
  code: string;
  message: string;
  friendlyMessage: string;
  bankCode: string;
  refId: string;
  gatewayId: number;
  avsResult?: string;
  cvcResult?: string;
  threeDSecure?: Record<string, unknown>;
}

/** The customer must act first (3-D Secure challenge); nothing moved yet. */
export interface Challenge {
  outcome: 'challenge';
  threeDSecure: Record<string, unknown>;
}

/** The bank may or may not have acted: ask again with `inquire`. */
export interface InDoubt {
  outcome: 'in_doubt';
  reason: string;
}

export type AcquirerOutcome = Approval | Decline | Challenge | InDoubt;
export type InquiryOutcome = Approval | Decline | InDoubt | { outcome: 'not_found' };

export type OperationKind = 'payment' | 'authorization' | 'capture' | 'void' | 'refund' | 'payout' | 'credit' | 'tokenization' | 'chargeback';

export interface BalanceAnswer {
  gatewayId: number;
  account: string;
  /** Minor units, exact: a merchant account's running sum may pass 2^53. */
  amount: bigint;
  currency: string;
  bankInfo: Record<string, unknown>;
}

export interface AcquirerConnector {
  readonly name: string;
  /** payment (authorize + capture) or authorization (hold). */
  authorize(call: AcquirerCall, capture: boolean): Promise<AcquirerOutcome>;
  capture(call: AcquirerCall): Promise<AcquirerOutcome>;
  void(call: AcquirerCall): Promise<AcquirerOutcome>;
  refund(call: AcquirerCall): Promise<AcquirerOutcome>;
  payout(call: AcquirerCall, kind: 'payout' | 'credit'): Promise<AcquirerOutcome>;
  /** Tokenization: verify the card (and 3-D Secure) without moving money. */
  verify(call: AcquirerCall): Promise<AcquirerOutcome>;
  /** The bank's notice of a dispute: money leaves the merchant account. */
  chargeback(call: AcquirerCall): Promise<AcquirerOutcome>;
  balance(shopId: number, currency: string, settings: Record<string, unknown>): Promise<BalanceAnswer>;
  inquire(reference: string, settings: Record<string, unknown>): Promise<InquiryOutcome>;
}

/** The bank answered an error and did nothing (HTTP 5xx from the acquirer). */
export class AcquirerError extends Error {}
