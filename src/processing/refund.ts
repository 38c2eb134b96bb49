import type { Invocation, ProcessingContext } from './context.js';
import { childOperation } from './child.js';

/** Returns (part of) a payment or capture; refunds and chargebacks together never exceed it. */
export const refund = (ctx: ProcessingContext, invocation: Invocation) =>
  childOperation(ctx, invocation, 'refund', (connector, call) => connector.refund(call));
