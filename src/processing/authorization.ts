import type { Invocation, ProcessingContext } from './context.js';
import { purchase } from './purchase.js';

/** Holds funds on the card; captures or a void follow. */
export const authorization = (ctx: ProcessingContext, invocation: Invocation) =>
  purchase(ctx, invocation, 'authorization', (connector, call) => connector.authorize(call, false));
