import { signedJournalAmount } from '../../src/store/sandbox.js';

/**
 * The sandbox bank's merchant account of one shop (the `?` parameter), per currency: the sum of its
 * journal's approved operations, as text so a sum past 2^53 stays exact. The same sum the gateway's
 * balance answers.
 */
export const bankAccountsQuery = `select currency, cast(sum(${signedJournalAmount}) as text) as amount from sandbox_operations where shop_id = ? and approved = 1 group by currency`;
