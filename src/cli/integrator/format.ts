import { formatMinorUnits } from '../../domain/currency.js';

/**
 * Human-readable output of the integrator commands: amounts with the currency's exponent, masked cards,
 * statuses coloured when the output is a terminal (NO_COLOR turns colour off, FORCE_COLOR turns it on).
 */

export interface Style {
  color: boolean;
}

export function styleFor(stream: NodeJS.WriteStream, env: NodeJS.ProcessEnv = process.env): Style {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return { color: false };
  if (env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== '' && env.FORCE_COLOR !== '0') return { color: true };
  return { color: Boolean(stream.isTTY) && env.TERM !== 'dumb' };
}

const codes = { red: 31, green: 32, yellow: 33, blue: 34, gray: 90, bold: 1, dim: 2 } as const;
export type Paint = keyof typeof codes;

export function paint(style: Style, color: Paint, text: string): string {
  return style.color ? `\x1b[${codes[color]}m${text}\x1b[0m` : text;
}

export function statusColor(status: unknown): Paint {
  switch (status) {
    case 'successful':
      return 'green';
    case 'failed':
      return 'red';
    case 'incomplete':
    case 'pending':
    case 'processing':
      return 'yellow';
    default:
      return 'gray';
  }
}

/** 1000 EUR → "10.00 EUR"; 1000 JPY → "1000 JPY". */
export function money(amount: unknown, currency: unknown): string {
  if (typeof amount !== 'number' || !Number.isFinite(amount)) return '—';
  const code = typeof currency === 'string' ? currency : '';
  return code ? `${formatMinorUnits(amount, code)} ${code}` : String(amount);
}

const brandNames: Record<string, string> = {
  visa: 'Visa',
  master: 'Mastercard',
  maestro: 'Maestro',
  amex: 'Amex',
  discover: 'Discover',
  jcb: 'JCB',
  diners: 'Diners',
  unionpay: 'UnionPay',
  mir: 'Mir',
};

type Card = { brand?: unknown; last_4?: unknown; exp_month?: unknown; exp_year?: unknown; holder?: unknown };

/** "Visa •••• 0000  exp 05/2030  John Doe": never more of the number than the gateway shows. */
export function maskedCard(card: Card | null | undefined): string | undefined {
  if (!card || typeof card !== 'object' || typeof card.last_4 !== 'string') return undefined;
  const brand = (typeof card.brand === 'string' && brandNames[card.brand]) || 'Card';
  const parts = [`${brand} •••• ${card.last_4}`];
  if (card.exp_month !== undefined && card.exp_month !== null && card.exp_year !== undefined && card.exp_year !== null) {
    parts.push(`exp ${String(card.exp_month).padStart(2, '0')}/${card.exp_year}`);
  }
  if (typeof card.holder === 'string' && card.holder) parts.push(card.holder);
  return parts.join('  ');
}

type Tx = Record<string, unknown>;

/** One line: "payment successful · 10.00 EUR (test)". */
export function headline(tx: Tx, style: Style): string {
  const status = String(tx.status ?? 'unknown');
  const test = tx.test === true ? paint(style, 'gray', ' (test)') : '';
  return `${paint(style, 'bold', String(tx.type ?? 'transaction'))} ${paint(style, statusColor(status), status)} · ${money(tx.amount, tx.currency)}${test}`;
}

function rows(entries: [string, string | undefined][], style: Style, indent = '  '): string[] {
  const present = entries.filter((entry): entry is [string, string] => entry[1] !== undefined && entry[1] !== '');
  const width = Math.max(0, ...present.map(([label]) => label.length));
  return present.map(([label, value]) => `${indent}${paint(style, 'gray', label.padEnd(width))}  ${value}`);
}

const text = (value: unknown): string | undefined => (value === undefined || value === null || value === '' ? undefined : String(value));

/** A transaction for people: the headline, then the fields that matter, never the full card number. */
export function describeTransaction(tx: Tx, style: Style): string {
  // While `incomplete` the message is null: the friendly message says what is pending.
  const message = text(tx.message) ?? text(tx.friendly_message);
  const code = text(tx.code);
  const threeDs = tx.three_d_secure_verification as { status?: unknown } | undefined;
  const lines = [
    headline(tx, style),
    ...rows(
      [
        ['uid', text(tx.uid)],
        ['message', message ? (code ? `${message} (${code})` : message) : code],
        ['card', maskedCard(tx.credit_card as Card)],
        ['recipient', maskedCard(tx.recipient_credit_card as Card)],
        ['parent', text(tx.parent_uid)],
        ['reason', text(tx.reason)],
        ['description', text(tx.description)],
        ['tracking id', text(tx.tracking_id)],
        ['3-D Secure', threeDs && text(threeDs.status) ? String(threeDs.status) : undefined],
        ['redirect to', tx.status === 'incomplete' ? text(tx.redirect_url) : undefined],
        ['receipt', text(tx.receipt_url)],
        ['created', text(tx.created_at)],
      ],
      style,
    ),
  ];
  if (tx.status === 'incomplete' && text(tx.redirect_url)) {
    lines.push(
      paint(style, 'yellow', '  → the customer must finish 3-D Secure at the redirect URL; the outcome arrives by webhook or `ecomgate tx`'),
    );
  }
  return lines.join('\n');
}

export function describeBalance(balance: Record<string, unknown>, style: Style): string {
  return [
    `${paint(style, 'bold', 'balance')} ${money(balance.amount, balance.currency)}`,
    ...rows(
      [
        ['account', text(balance.account)],
        ['gateway id', text(balance.gatewayId)],
      ],
      style,
    ),
  ].join('\n');
}

/** Field errors as the API nests them: {"credit_card": {"number": ["is invalid"]}} → "credit_card.number: is invalid". */
export function fieldErrorLines(errors: unknown, prefix = ''): string[] {
  if (!errors || typeof errors !== 'object') return [];
  const lines: string[] = [];
  for (const [field, value] of Object.entries(errors as Record<string, unknown>)) {
    const path = prefix ? `${prefix}.${field}` : field;
    if (Array.isArray(value)) lines.push(`${path}: ${value.join(', ')}`);
    else lines.push(...fieldErrorLines(value, path));
  }
  return lines;
}
