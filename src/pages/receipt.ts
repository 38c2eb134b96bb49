import type { TransactionTable } from '../store/schema.js';
import { escapeHtml, formatAmount, maskedCard, page } from './html.js';

/** A customer receipt: readable, printable, nothing beyond the masked card. */
export function receiptPage(row: TransactionTable, merchant: string): string {
  const card = row.credit_card ? JSON.parse(row.credit_card) : null;
  const date = new Date(row.paid_at ?? row.updated_at);
  return page(
    `Receipt ${row.uid}`,
    `<h1>Receipt</h1>
<p>Status: <span class="status status-${escapeHtml(row.status)}">${escapeHtml(row.status)}</span></p>
<dl>
  <dt>Merchant</dt><dd>${escapeHtml(merchant)}</dd>
  <dt>Amount</dt><dd>${escapeHtml(formatAmount(Number(row.amount), row.currency))}</dd>
  <dt>Operation</dt><dd>${escapeHtml(row.type)}</dd>
  ${row.description ? `<dt>Description</dt><dd>${escapeHtml(row.description)}</dd>` : ''}
  <dt>Card</dt><dd>${escapeHtml(maskedCard(card))}</dd>
  <dt>Date</dt><dd><time datetime="${escapeHtml(date.toISOString())}">${escapeHtml(date.toISOString().replace('T', ' ').slice(0, 19))} UTC</time></dd>
  <dt>Reference</dt><dd>${escapeHtml(row.uid)}</dd>
</dl>
<p class="note">Keep this receipt for your records.</p>`,
  );
}
