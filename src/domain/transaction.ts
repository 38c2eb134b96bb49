/** The words of the API for transactions: their types, statuses and result codes. */

export const transactionTypes = [
  'payment',
  'authorization',
  'tokenization',
  'capture',
  'void',
  'refund',
  'payout',
  'credit',
  'checkup',
  'chargeback',
] as const;
export type TransactionType = (typeof transactionTypes)[number];

/**
 * `processing` is internal: the row exists and the acquirer is being asked (between transactions A and B
 * of the pipeline). `pending` means the acquirer's answer is in doubt (timeout, dropped connection) until
 * an inquiry settles it. Merchants see the four final/customer statuses of the spec, and `pending`.
 */
export type TransactionStatus = 'processing' | 'pending' | 'incomplete' | 'successful' | 'failed' | 'expired';

export const finalStatuses: readonly TransactionStatus[] = ['successful', 'failed', 'expired'];

/** The parent types each child operation accepts. */
export const parentTypes: Record<'capture' | 'void' | 'refund' | 'chargeback', readonly TransactionType[]> = {
  capture: ['authorization'],
  void: ['authorization'],
  refund: ['payment', 'capture'],
  chargeback: ['payment', 'capture'],
};

/**
 * The time a successful transaction of each type stamps: `paid_at` when it takes the customer's money,
 * `closed_at` when it ends its parent's (a void releases it, a refund or chargeback gives it back).
 */
export const settlementStamp: Record<TransactionType, 'paid_at' | 'closed_at' | null> = {
  payment: 'paid_at',
  capture: 'paid_at',
  void: 'closed_at',
  refund: 'closed_at',
  chargeback: 'closed_at',
  authorization: null,
  tokenization: null,
  checkup: null,
  payout: null,
  credit: null,
};

/** A void holds its whole parent while in flight (no capture may start); other children hold their amount. */
export function reservesWholeParent(type: TransactionType): boolean {
  return type === 'void';
}

/** Decline texts, keyed by the operation that was declined. */
export function declineMessage(type: TransactionType): string {
  const noun = type.charAt(0).toUpperCase() + type.slice(1);
  return `${noun} was declined`;
}

/** The acquirer's approval text in the operation sub-object ("Payment was approved"). */
export function approvalMessage(type: TransactionType): string {
  const noun = type.charAt(0).toUpperCase() + type.slice(1);
  return `${noun} was approved`;
}

/** Money direction on the merchant account: +1 money in, -1 money out, 0 none. */
export function ledgerSign(type: TransactionType): number {
  switch (type) {
    case 'payment':
    case 'capture':
      return 1;
    case 'refund':
    case 'payout':
    case 'credit':
    case 'chargeback':
      return -1;
    default:
      return 0;
  }
}
