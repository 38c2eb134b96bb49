import type { Invocation, ProcessingContext } from './context.js';
import { childOperation } from './child.js';

/** Captures (part of) an authorization; captures together never exceed it. */
export const capture = (ctx: ProcessingContext, invocation: Invocation) =>
  childOperation(ctx, invocation, 'capture', (connector, call) => connector.capture(call));
