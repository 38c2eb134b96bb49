import type { TransactionTable } from '../store/schema.js';
import { escapeHtml, formatAmount, maskedCard, page } from './html.js';

/**
 * The simulated issuer challenge of the sandbox (spec §6): pass or fail, no script needed. The form posts
 * to the public URL: behind a proxy with a path prefix a bare `/process/...` would miss the gateway.
 */
export function challengePage(row: TransactionTable, merchant: string, formToken: string, publicUrl: string): string {
  const card = row.credit_card ? JSON.parse(row.credit_card) : null;
  return page(
    '3-D Secure verification',
    `<h1>Confirm your payment</h1>
<p>Your bank asks you to confirm this ${escapeHtml(row.type === 'tokenization' ? 'card verification' : 'payment')}.</p>
<dl>
  <dt>Merchant</dt><dd>${escapeHtml(merchant)}</dd>
  <dt>Amount</dt><dd>${escapeHtml(formatAmount(Number(row.amount), row.currency))}</dd>
  <dt>Card</dt><dd>${escapeHtml(maskedCard(card))}</dd>
  ${row.description ? `<dt>Description</dt><dd>${escapeHtml(row.description)}</dd>` : ''}
</dl>
<form method="post" action="${escapeHtml(`${publicUrl}/process/${row.uid}`)}">
  <input type="hidden" name="token" value="${escapeHtml(formToken)}">
  <p class="note">Sandbox issuer: choose the outcome of the authentication.</p>
  <div class="actions">
    <button type="submit" name="outcome" value="authenticate" class="pass">Authenticate</button>
    <button type="submit" name="outcome" value="fail" class="fail">Fail</button>
  </div>
</form>`,
  );
}

/** Shown when the transaction is no longer waiting for the customer, or has no return_url. */
export function outcomePage(row: TransactionTable): string {
  const headline = row.status === 'successful' ? 'Payment confirmed' : row.status === 'failed' ? 'Payment failed' : 'Nothing to confirm';
  return page(
    headline,
    `<h1>${escapeHtml(headline)}</h1>
<p>Status: <span class="status status-${escapeHtml(row.status)}">${escapeHtml(row.status)}</span></p>
<dl>
  <dt>Amount</dt><dd>${escapeHtml(formatAmount(Number(row.amount), row.currency))}</dd>
  <dt>Reference</dt><dd>${escapeHtml(row.uid)}</dd>
</dl>
<p class="note">You can close this page.</p>`,
  );
}

/** A submit that did not come from the challenge page (another site's form, a missing token). */
export function refusedPage(): string {
  return page(
    'Confirmation refused',
    "<h1>Confirmation refused</h1>\n<p>This confirmation did not come from your bank's page. Please return to the shop and start again.</p>",
  );
}

export function unknownTransactionPage(): string {
  return page('Transaction not found', '<h1>Transaction not found</h1>\n<p>This link does not lead to a payment. Please return to the shop.</p>');
}
