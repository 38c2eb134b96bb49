import type { Invocation, ProcessingContext } from './context.js';
import { purchase } from './purchase.js';

/** Verifies the card (with 3-D Secure on such shops) and returns its token; no money moves. */
export const tokenization = (ctx: ProcessingContext, invocation: Invocation) =>
  purchase(ctx, invocation, 'tokenization', (connector, call) => connector.verify(call));
