import { setTimeout as delay } from 'node:timers/promises';
import {
  type AsyncHandle,
  type Balance,
  type CallOptions,
  ConnectionError,
  Gateway,
  GatewayError,
  NotFoundError,
  StillProcessingError,
  type Transaction,
  ValidationError,
} from '@ecomgate/client';
import { connectionOf, type ConnectionFlags, EXIT, UsageError } from './connection.js';
import { describeBalance, describeTransaction, fieldErrorLines, paint, styleFor } from './format.js';
import { Progress } from './progress.js';

/** Flags every integrator command takes besides the connection. */
export interface CommonFlags extends ConnectionFlags {
  json?: boolean;
  async?: boolean;
  /** Seconds `--async` follows a task before giving up (exit 3). */
  wait?: string;
  requestId?: string;
}

export interface CardFlags {
  card?: string;
  token?: string;
  exp?: string;
  cvc?: string;
  holder?: string;
}

export interface PurchaseFlags extends CommonFlags, CardFlags {
  amount?: string;
  currency?: string;
  description?: string;
  trackingId?: string;
  notificationUrl?: string;
  returnUrl?: string;
  test?: boolean;
  duplicateCheck?: boolean;
}

export interface ChildFlags extends CommonFlags {
  parent?: string;
  amount?: string;
  reason?: string;
  notificationUrl?: string;
  duplicateCheck?: boolean;
}

export interface QueryFlags extends CommonFlags {
  trackingId?: string;
  currency?: string;
}

// ---------------------------------------------------------------------------------------------------
// Arguments

export function amountOf(value: string | undefined): number {
  if (value === undefined) throw new UsageError('--amount is required (minor units: 1000 is 10.00 EUR)');
  if (!/^\d+$/.test(value.trim()) || Number(value) <= 0 || !Number.isSafeInteger(Number(value))) {
    throw new UsageError(`--amount is a whole number of minor units greater than 0 (1000 is 10.00 EUR), got "${value}"`);
  }
  return Number(value);
}

export function currencyOf(value: string | undefined): string {
  if (value === undefined) throw new UsageError('--currency is required (ISO 4217, e.g. EUR)');
  if (!/^[A-Za-z]{3}$/.test(value.trim())) throw new UsageError(`--currency is an ISO 4217 code such as EUR, got "${value}"`);
  return value.trim().toUpperCase();
}

/** "12/30" or "12/2030" → month "12", year 2030. Absent: December three years from now. */
export function expiryOf(value: string | undefined, now = new Date()): { exp_month: string; exp_year: number } {
  if (value === undefined) return { exp_month: '12', exp_year: now.getUTCFullYear() + 3 };
  const match = /^(\d{1,2})\s*\/\s*(\d{2}|\d{4})$/.exec(value.trim());
  const month = match ? Number(match[1]) : 0;
  if (!match || month < 1 || month > 12) throw new UsageError(`--exp is MM/YY or MM/YYYY, got "${value}"`);
  const year = match[2]!.length === 2 ? 2000 + Number(match[2]) : Number(match[2]);
  return { exp_month: String(month).padStart(2, '0'), exp_year: year };
}

function cardOf(flags: CardFlags, name: string, withCvc: boolean): Record<string, unknown> {
  if (flags.card && flags.token) throw new UsageError('give --card or --token, not both');
  if (flags.token) return { token: flags.token, ...(withCvc && flags.cvc ? { verification_value: flags.cvc } : {}) };
  if (!flags.card) throw new UsageError(`${name} is required (a test card such as 4200000000000000, or --token)`);
  const number = flags.card.replace(/[\s-]/g, '');
  if (!/^\d{12,19}$/.test(number)) throw new UsageError(`${name} must be 12 to 19 digits`);
  return {
    number,
    ...(withCvc && flags.cvc ? { verification_value: flags.cvc } : {}),
    ...(flags.holder ? { holder: flags.holder } : {}),
    ...expiryOf(flags.exp),
  };
}

const optional = (name: string, value: string | undefined): Record<string, string> => (value === undefined || value === '' ? {} : { [name]: value });

export function purchaseRequest(flags: PurchaseFlags, defaultDescription: string) {
  return {
    amount: amountOf(flags.amount),
    currency: currencyOf(flags.currency),
    description: flags.description ?? defaultDescription,
    ...optional('tracking_id', flags.trackingId),
    ...optional('notification_url', flags.notificationUrl),
    ...optional('return_url', flags.returnUrl),
    ...(flags.test ? { test: true } : {}),
    ...(flags.duplicateCheck === false ? { duplicate_check: false } : {}),
    credit_card: cardOf(flags, '--card', true),
  } as unknown as Parameters<Gateway['payment']>[0];
}

export function payoutRequest(flags: PurchaseFlags) {
  return {
    amount: amountOf(flags.amount),
    currency: currencyOf(flags.currency),
    description: flags.description ?? 'Payout from the ecomgate CLI',
    ...optional('tracking_id', flags.trackingId),
    ...optional('notification_url', flags.notificationUrl),
    ...(flags.test ? { test: true } : {}),
    ...(flags.duplicateCheck === false ? { duplicate_check: false } : {}),
    recipient_credit_card: cardOf(flags, '--card', false),
  } as unknown as Parameters<Gateway['payout']>[0];
}

export function childRequest(flags: ChildFlags, withReason: boolean) {
  if (!flags.parent) throw new UsageError('--parent <uid> is required (the transaction this one applies to)');
  if (withReason && !flags.reason) throw new UsageError('--reason is required');
  return {
    parent_uid: flags.parent,
    amount: amountOf(flags.amount),
    ...(withReason ? { reason: flags.reason! } : {}),
    ...optional('notification_url', flags.notificationUrl),
    ...(flags.duplicateCheck === false ? { duplicate_check: false } : {}),
  } as Parameters<Gateway['refund']>[0];
}

// ---------------------------------------------------------------------------------------------------
// Running a command

/** What a command answers, both ways. */
interface Shown {
  /** For --json: one JSON document per line. */
  json: unknown[];
  human: string;
  exit: number;
}

export function exitForStatus(status: unknown): number {
  switch (status) {
    case 'successful':
      return EXIT.ok;
    case 'failed':
    case 'expired':
      return EXIT.declined;
    default:
      return EXIT.pending;
  }
}

export function showTransaction(tx: Transaction, exitByStatus = true): Shown {
  return { json: [tx], human: describeTransaction(tx, styleFor(process.stdout)), exit: exitByStatus ? exitForStatus(tx.status) : EXIT.ok };
}

function write(shown: Shown, json: boolean): void {
  if (json) for (const document of shown.json) process.stdout.write(JSON.stringify(document) + '\n');
  else process.stdout.write(shown.human + '\n');
}

/** Follows an async task with a live display until its result (or `--wait` runs out, or Ctrl-C). */
async function follow<T>(handle: AsyncHandle<T>, label: string, waitSeconds: number, signal: AbortSignal): Promise<T> {
  const style = styleFor(process.stderr);
  const progress = new Progress(process.stderr, `${label} ${handle.requestId}`, style);
  progress.update('submitted');
  const deadline = Date.now() + waitSeconds * 1000;
  let pause = 150;
  try {
    for (;;) {
      const answer = await handle.status({ signal });
      if (answer.status === 'completed') break;
      if (answer.status === 'unknown') {
        progress.done(paint(style, 'red', 'unknown to the gateway'));
        throw new NotFoundError(`The gateway does not know the async request ${handle.requestId}`, { statusCode: 404, body: answer });
      }
      progress.update(answer.status);
      if (Date.now() >= deadline) {
        progress.done(paint(style, 'yellow', `still processing after ${waitSeconds} s`));
        throw new StillProcessingError(`The async request ${handle.requestId} is still processing; its result: ${handle.responseUrl}`, {
          statusCode: 425,
        });
      }
      await delay(Math.min(pause, Math.max(0, deadline - Date.now())), undefined, { signal });
      pause = Math.min(pause * 1.5, 1000);
    }
  } catch (error) {
    if (signal.aborted) {
      progress.done(paint(style, 'yellow', 'interrupted'));
      process.stderr.write(`The request goes on at the gateway: status ${handle.statusUrl}, result ${handle.responseUrl}\n`);
    }
    throw error;
  }
  progress.done(paint(style, 'green', '✔ completed'));
  return handle.result({ signal });
}

/** Reports an error the way the exit status says; answers the exit status. */
export function reportError(error: unknown, json: boolean): number {
  const style = styleFor(process.stderr);
  const say = (line: string) => process.stderr.write(`ecomgate: ${line}\n`);
  if (error instanceof UsageError) {
    say(error.message);
    return EXIT.refused;
  }
  if (error instanceof StillProcessingError) {
    say(paint(style, 'yellow', error.message));
    return EXIT.pending;
  }
  if (error instanceof GatewayError) {
    const status = error.statusCode;
    const unavailable = error instanceof ConnectionError || status === undefined || status >= 500;
    if (json && error.body !== null && typeof error.body === 'object') process.stdout.write(JSON.stringify(error.body) + '\n');
    const what = unavailable ? 'gateway unavailable' : 'refused';
    say(`${paint(style, 'red', what)}${status ? ` (HTTP ${status})` : ''}: ${error.message}`);
    if (error instanceof ValidationError) for (const line of fieldErrorLines(error.errors)) process.stderr.write(`  ${line}\n`);
    if (error.requestId) process.stderr.write(paint(style, 'gray', `  X-Request-Id: ${error.requestId}`) + '\n');
    return unavailable ? EXIT.unavailable : EXIT.refused;
  }
  if ((error as Error)?.name === 'AbortError') return 130;
  say(error instanceof Error ? error.message : String(error));
  return EXIT.refused;
}

/**
 * One command: builds the request (argument errors first, before anything is sent), sends it (sync, or
 * async and followed), prints the answer and sets the exit status.
 */
export async function execute<T>(
  flags: CommonFlags,
  label: string,
  prepare: () => {
    sync: (gateway: Gateway, options: CallOptions) => Promise<T>;
    submit: (gateway: Gateway, options: CallOptions) => Promise<AsyncHandle<T>>;
  },
  show: (value: T) => Shown,
): Promise<void> {
  const json = Boolean(flags.json);
  const controller = new AbortController();
  const interrupt = () => controller.abort();
  process.once('SIGINT', interrupt);
  try {
    const connection = connectionOf(flags);
    const waitSeconds = flags.wait === undefined ? 120 : Number(flags.wait);
    if (!(waitSeconds > 0)) throw new UsageError(`--wait is a number of seconds, got "${flags.wait}"`);
    const { sync, submit } = prepare();
    const gateway = new Gateway({
      shopId: connection.shopId,
      secretKey: connection.secretKey,
      baseUrl: connection.baseUrl,
      timeoutMs: connection.timeoutMs,
    });
    const options: CallOptions = { signal: controller.signal, ...(flags.requestId ? { requestId: flags.requestId } : {}) };
    const value = flags.async ? await follow(await submit(gateway, options), label, waitSeconds, controller.signal) : await sync(gateway, options);
    const shown = show(value);
    write(shown, json);
    process.exitCode = shown.exit;
  } catch (error) {
    process.exitCode = reportError(error, json);
  } finally {
    process.off('SIGINT', interrupt);
  }
}

// ---------------------------------------------------------------------------------------------------
// The commands

export const purchase = (operation: 'payment' | 'authorization') => (flags: PurchaseFlags) =>
  execute(
    flags,
    operation,
    () => {
      const request = purchaseRequest(flags, operation === 'payment' ? 'Payment from the ecomgate CLI' : 'Authorization from the ecomgate CLI');
      return {
        sync: (gateway, options) => gateway[operation](request, options),
        submit: (gateway, options) => gateway.async[operation](request, options),
      };
    },
    (tx) => showTransaction(tx),
  );

export const payout = (flags: PurchaseFlags) =>
  execute(
    flags,
    'payout',
    () => {
      const request = payoutRequest(flags);
      return { sync: (gateway, options) => gateway.payout(request, options), submit: (gateway, options) => gateway.async.payout(request, options) };
    },
    (tx) => showTransaction(tx),
  );

export const child = (operation: 'capture' | 'void' | 'refund') => (flags: ChildFlags) =>
  execute(
    flags,
    operation,
    () => {
      const request = childRequest(flags, operation === 'refund');
      return {
        sync: (gateway, options) => gateway[operation](request, options),
        submit: (gateway, options) => gateway.async[operation](request, options),
      };
    },
    (tx) => showTransaction(tx),
  );

export const transaction = (uid: string | undefined, flags: QueryFlags) =>
  execute<Transaction | Transaction[]>(
    flags,
    'status query',
    () => {
      if (uid && flags.trackingId) throw new UsageError('give a uid or --tracking-id, not both');
      if (flags.trackingId) {
        const trackingId = flags.trackingId;
        return {
          sync: (gateway, options) => gateway.byTrackingId(trackingId, options),
          submit: (gateway, options) => gateway.async.byTrackingId(trackingId, options),
        };
      }
      if (!uid) throw new UsageError('give the transaction uid (or --tracking-id)');
      return { sync: (gateway, options) => gateway.transaction(uid, options), submit: (gateway, options) => gateway.async.transaction(uid, options) };
    },
    (value) => {
      if (!Array.isArray(value)) return showTransaction(value, false);
      const style = styleFor(process.stdout);
      const human =
        value.length === 0
          ? paint(style, 'gray', `no transaction with tracking id ${flags.trackingId}`)
          : value.map((tx) => describeTransaction(tx, style)).join('\n\n');
      return { json: value, human, exit: EXIT.ok };
    },
  );

export const balance = (flags: QueryFlags) =>
  execute<Balance>(
    flags,
    'balance',
    () => {
      const currency = currencyOf(flags.currency);
      return {
        sync: (gateway, options) => gateway.balance(currency, options),
        submit: (gateway, options) => gateway.async.balance(currency, options),
      };
    },
    (value) => ({ json: [value], human: describeBalance(value as unknown as Record<string, unknown>, styleFor(process.stdout)), exit: EXIT.ok }),
  );
