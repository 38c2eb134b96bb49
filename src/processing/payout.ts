import type { Invocation, ProcessingContext } from './context.js';
import { pushToCard } from './push.js';

/** Pushes funds to a recipient card. */
export const payout = (ctx: ProcessingContext, invocation: Invocation) => pushToCard(ctx, invocation, 'payout');
