import type { TransactionTable } from '../store/schema.js';
import type { ApiResponse, ProcessingContext } from './context.js';
import { presentTransaction } from './present.js';

/** A request that produced a transaction answers 200, whatever the transaction's status. */
export function transactionResponse(ctx: ProcessingContext, row: TransactionTable): ApiResponse {
  return { statusCode: 200, body: { transaction: presentTransaction(ctx, row) } };
}
