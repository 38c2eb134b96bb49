import type { Invocation, ProcessingContext } from './context.js';
import { pushToCard } from './push.js';

/** The legacy payout to a stored card token. */
export const credit = (ctx: ProcessingContext, invocation: Invocation) => pushToCard(ctx, invocation, 'credit');
