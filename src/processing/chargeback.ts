import type { Invocation, ProcessingContext } from './context.js';
import { childOperation } from './child.js';

/** Simulates the bank's dispute of a payment or capture (test shops; the operator for any shop). */
export const chargeback = (ctx: ProcessingContext, invocation: Invocation, options: { byOperator?: boolean } = {}) =>
  childOperation(ctx, invocation, 'chargeback', (connector, call) => connector.chargeback(call), options);
