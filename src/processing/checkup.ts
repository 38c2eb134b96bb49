import type { Invocation, ProcessingContext } from './context.js';
import { purchase } from './purchase.js';

/** The shop's risk rules alone: no acquirer call, no money moves. */
export const checkup = (ctx: ProcessingContext, invocation: Invocation) => purchase(ctx, invocation, 'checkup');
