import type { Invocation, ProcessingContext } from './context.js';
import { childOperation } from './child.js';

/** Releases an authorization while nothing of it is captured; no capture after it. */
export const voidAuthorization = (ctx: ProcessingContext, invocation: Invocation) =>
  childOperation(ctx, invocation, 'void', (connector, call) => connector.void(call));
