import type { Invocation, ProcessingContext } from './context.js';
import { purchase } from './purchase.js';

/** Authorization and capture at once. */
export const payment = (ctx: ProcessingContext, invocation: Invocation) =>
  purchase(ctx, invocation, 'payment', (connector, call) => connector.authorize(call, true));
