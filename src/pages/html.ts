import { formatMinorUnits } from '../domain/currency.js';

/** Escapes text for HTML content and attribute values. */
export function escapeHtml(value: unknown): string {
  return String(value ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

export function formatAmount(minorUnits: number, currency: string): string {
  return `${formatMinorUnits(minorUnits, currency)} ${currency}`;
}

export function maskedCard(card: { brand?: string; last_4?: string } | null): string {
  if (!card?.last_4) return '—';
  const brand = card.brand && card.brand !== 'unknown' ? card.brand.charAt(0).toUpperCase() + card.brand.slice(1) : 'Card';
  return `${brand} •••• ${card.last_4}`;
}

/** The shell of every customer-facing page: plain HTML and CSS, no script, readable without styles. */
export function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="same-origin">
<title>${escapeHtml(title)}</title>
<style>
  body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; background: #f3f4f6; color: #111827; margin: 0; }
  main { max-width: 28rem; margin: 3rem auto; background: #fff; border-radius: 12px; padding: 2rem; box-shadow: 0 1px 3px rgba(0,0,0,.12); }
  h1 { font-size: 1.35rem; margin: 0 0 1rem; }
  dl { display: grid; grid-template-columns: max-content 1fr; gap: .5rem 1rem; margin: 1.25rem 0; }
  dt { color: #4b5563; } dd { margin: 0; font-weight: 600; }
  .actions { display: flex; gap: .75rem; margin-top: 1.5rem; }
  button { flex: 1; font-size: 1rem; padding: .8rem 1rem; border-radius: 8px; border: 2px solid transparent; cursor: pointer; }
  button:focus-visible { outline: 3px solid #2563eb; outline-offset: 2px; }
  .pass { background: #047857; color: #fff; } .fail { background: #fff; color: #b91c1c; border-color: #b91c1c; }
  .status { display: inline-block; padding: .2rem .6rem; border-radius: 999px; font-weight: 600; }
  .status-successful { background: #d1fae5; color: #065f46; } .status-failed, .status-expired { background: #fee2e2; color: #991b1b; }
  .status-incomplete, .status-pending { background: #fef3c7; color: #92400e; }
  .note { color: #4b5563; font-size: .9rem; }
</style>
</head>
<body>
<main>
${body}
</main>
</body>
</html>`;
}
