import { createHash } from 'node:crypto';
import { results, type ResultCode } from '../domain/codes.js';
import type { Store } from '../store/db.js';
import { findSandboxOperation, JOURNAL_SIGNS, recordSandboxOperation, sandboxBalance } from '../store/sandbox.js';
import {
  type AcquirerCall,
  type AcquirerConnector,
  AcquirerError,
  type AcquirerOutcome,
  type Approval,
  type BalanceAnswer,
  type Decline,
  type InquiryOutcome,
  type OperationKind,
} from './connector.js';

/**
 * The built-in test bank. It decides outcomes from the card number (spec §3 and the extra cards below),
 * each decline with its result code and texts from domain/codes.ts (declined card F.0105, 3-D Secure U/N F.0301),
 * keeps every operation in an append-only journal by our reference (each shop's merchant account per
 * currency is the sum of its approved operations), so a repeated call or an inquiry answers the first
 * outcome.
 *
 * Extra test cards (documented in the README):
 *   4000000000000051  insufficient funds (declined, F.0107)
 *   4000000000000309  slow bank: answers after `slow_ms` (shop setting, default 5000 ms); the bank holds
 *                     the operation from the moment it arrives, and inquiries say "in progress" until then
 *   4000000000000408  acquirer timeout: the bank approves but the answer never arrives (in doubt)
 *   4000000000000507  acquirer error: the bank answers 5xx and does nothing (failed, F.0500, set by the pipeline)
 *   4000000000000606  unknown outcome: approved at the bank, answer lost; inquiries say "in progress"
 *                     until `settle_ms` (default 2000 ms) after the call, then "approved"
 * Shop settings (`acquirer_settings`): `latency_ms` adds latency to every call. Fault injection, for any
 * card: `timeout_rate` (a fraction, 0–1) of operations are decided at the bank but their answer is lost, as
 * with the unknown-outcome card (in progress for `settle_ms`, then final); `error_rate` of operations are
 * refused with a 5xx and nothing done. Which operations fault follows from their reference, so a repeated
 * call or an inquiry meets the same fate.
 */
export const SANDBOX_GATEWAY_ID = 1;

const cards = {
  declined: new Set(['4005550000000019']),
  insufficientFunds: new Set(['4000000000000051']),
  slow: new Set(['4000000000000309']),
  timeout: new Set(['4000000000000408']),
  error: new Set(['4000000000000507']),
  unknown: new Set(['4000000000000606']),
  threeDsChallenge: new Set(['4012000000003010', '4012000000001097', '5204240000015029']),
  threeDsFrictionless: new Set(['4012000000001006', '5204240000015003']),
  threeDsUnavailable: new Set(['4012000000001022', '5204240000015045']),
  threeDsNotAuthenticated: new Set(['4012000000001014', '5204240000015060']),
};

// Every operation kind says how it moves the merchant account, the journal's sum (store/sandbox.ts).
JOURNAL_SIGNS satisfies Record<OperationKind, number>;

const avsCodes: Record<string, string> = { '11': 'M', '22': 'N', '12': 'B', '21': 'P', '33': 'U', '44': 'E', '55': '0' };
const cvcCodes: Record<string, string> = { '111': 'M', '222': 'N', '333': 'U', '444': 'E', '555': '0' };

function firstDigit(value: string | null | undefined): string {
  return value?.match(/\d/)?.[0] ?? '';
}

function digitsOf(reference: string, length: number): string {
  const hash = createHash('sha256').update(reference).digest();
  let digits = '';
  for (let i = 0; digits.length < length; i++) digits += String(hash[i % hash.length] % 10);
  return digits;
}

/** A stable fraction in [0, 1) for a reference and a purpose: the same reference always draws the same. */
function draw(reference: string, purpose: string): number {
  return createHash('sha256').update(`${reference}:${purpose}`).digest().readUInt32BE(0) / 2 ** 32;
}

function numberSetting(settings: Record<string, unknown>, name: string, fallback: number): number {
  const value = settings[name];
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : fallback;
}

export interface SandboxOptions {
  store: Store;
  now: () => Date;
  sleep: (ms: number) => Promise<void>;
}

export class SandboxAcquirer implements AcquirerConnector {
  readonly name = 'sandbox';

  constructor(private readonly options: SandboxOptions) {}

  authorize(call: AcquirerCall, capture: boolean) {
    return this.operate(capture ? 'payment' : 'authorization', call);
  }
  capture(call: AcquirerCall) {
    return this.operate('capture', call);
  }
  void(call: AcquirerCall) {
    return this.operate('void', call);
  }
  refund(call: AcquirerCall) {
    return this.operate('refund', call);
  }
  payout(call: AcquirerCall, kind: 'payout' | 'credit') {
    return this.operate(kind, call);
  }
  verify(call: AcquirerCall) {
    return this.operate('tokenization', call);
  }
  chargeback(call: AcquirerCall) {
    return this.operate('chargeback', call);
  }

  async balance(shopId: number, currency: string): Promise<BalanceAnswer> {
    return {
      gatewayId: SANDBOX_GATEWAY_ID,
      account: `sandbox-${shopId}-${currency}`,
      amount: await sandboxBalance(this.options.store.sql, shopId, currency),
      currency,
      bankInfo: { name: 'ecomgate sandbox' },
    };
  }

  async inquire(reference: string): Promise<InquiryOutcome> {
    const row = await findSandboxOperation(this.options.store.sql, reference);
    if (!row) return { outcome: 'not_found' };
    if (row.settle_at > this.options.now().toISOString()) return { outcome: 'in_doubt', reason: 'The bank is still processing the operation' };
    return JSON.parse(row.response) as Approval | Decline;
  }

  private async operate(kind: OperationKind, call: AcquirerCall): Promise<AcquirerOutcome> {
    const number = call.card?.number ?? '';
    const latency = numberSetting(call.settings, 'latency_ms', 0) + (cards.slow.has(number) ? numberSetting(call.settings, 'slow_ms', 5000) : 0);
    // A bank is never synchronous: even at zero latency the answer comes on a later turn of the event loop.
    const answerLater = () => (latency > 0 ? this.options.sleep(latency) : new Promise<void>((resolve) => setImmediate(resolve)));
    const fault = this.fault(call);
    if (cards.error.has(number) || fault === 'error') {
      await answerLater();
      throw new AcquirerError('sandbox: acquirer answered 503');
    }

    const isCardAuth = kind === 'payment' || kind === 'authorization' || kind === 'tokenization';
    let threeDSecure: Record<string, unknown> | undefined;
    if (isCardAuth && call.threeDSecure) {
      const verdict = this.threeDSecure(number);
      if (verdict === 'challenge') {
        await answerLater();
        return { outcome: 'challenge', threeDSecure: threeDSecureBlock('pending', 'Customer authentication required', 'Y', null) };
      }
      if (verdict === 'frictionless') threeDSecure = threeDSecureBlock('successful', 'Authenticated without challenge', 'Y', 'Y');
      if (verdict === 'U' || verdict === 'N') {
        const block = threeDSecureBlock('failed', verdict === 'U' ? 'Authentication unavailable' : 'Authentication failed', 'Y', verdict);
        const failed = await this.record(kind, call, { ...this.decline(kind, call, results.authenticationFailed), threeDSecure: block }, latency);
        await answerLater();
        return failed;
      }
    }

    let answer: Approval | Decline;
    if (isCardAuth && cards.declined.has(number)) answer = this.decline(kind, call, results.cardDeclined);
    else if ((isCardAuth || kind === 'payout') && cards.insufficientFunds.has(number)) {
      answer = { ...this.decline(kind, call, results.insufficientFunds), message: results.insufficientFunds.message };
    } else answer = this.approve(kind, call, threeDSecure);

    // The bank decides and moves the money when the call arrives, whatever happens to the caller after:
    // an inquiry says "in progress" until the answer is due (and, for the unknown-outcome card, until
    // it settles), never "not found" for a call the bank already holds.
    const answerLost = cards.unknown.has(number) || fault === 'timeout';
    const settleMs = latency + (answerLost ? numberSetting(call.settings, 'settle_ms', 2000) : 0);
    const recorded = await this.record(kind, call, answer, settleMs);
    await answerLater();
    if (cards.timeout.has(number)) return { outcome: 'in_doubt', reason: 'Acquirer did not answer in time' };
    if (fault === 'timeout') return { outcome: 'in_doubt', reason: 'Acquirer did not answer in time' };
    if (cards.unknown.has(number)) return { outcome: 'in_doubt', reason: 'Connection to the acquirer was lost' };
    return recorded;
  }

  /** The fault injected into this call by the shop's `timeout_rate` / `error_rate`, if any. */
  private fault(call: AcquirerCall): 'timeout' | 'error' | undefined {
    const timeoutRate = numberSetting(call.settings, 'timeout_rate', 0);
    const errorRate = numberSetting(call.settings, 'error_rate', 0);
    if (timeoutRate === 0 && errorRate === 0) return undefined;
    const roll = draw(call.reference, 'fault');
    if (roll < timeoutRate) return 'timeout';
    if (roll < timeoutRate + errorRate) return 'error';
    return undefined;
  }

  private threeDSecure(number: string): 'challenge' | 'frictionless' | 'U' | 'N' | 'none' {
    if (cards.threeDsChallenge.has(number)) return 'challenge';
    if (cards.threeDsUnavailable.has(number)) return 'U';
    if (cards.threeDsNotAuthenticated.has(number)) return 'N';
    if (cards.threeDsFrictionless.has(number)) return 'frictionless';
    return 'frictionless';
  }

  private verification(call: AcquirerCall): { avsResult?: string; cvcResult?: string } {
    if (!call.card) return {};
    const address = firstDigit(call.billingAddress?.address) + firstDigit(call.billingAddress?.zip);
    const cvc = call.card.verificationValue;
    return { avsResult: avsCodes[address] ?? '1', cvcResult: cvc ? (cvcCodes[cvc] ?? '1') : undefined };
  }

  private approve(kind: OperationKind, call: AcquirerCall, threeDSecure?: Record<string, unknown>): Approval {
    const noun = kind.charAt(0).toUpperCase() + kind.slice(1);
    return {
      outcome: 'approved',
      authCode: digitsOf(call.reference + ':auth', 6),
      rrn: digitsOf(call.reference + ':rrn', 12),
      bankCode: '05',
      refId: digitsOf(call.reference + ':ref', 9),
      gatewayId: SANDBOX_GATEWAY_ID,
      message: `${noun} was approved`,
      billingDescriptor: 'ECOMGATE SANDBOX',
      ...this.verification(call),
      ...(threeDSecure ? { threeDSecure } : {}),
    };
  }

  private decline(kind: OperationKind, call: AcquirerCall, result: { code: ResultCode; friendly_message: string }): Decline {
    const noun = kind.charAt(0).toUpperCase() + kind.slice(1);
    return {
      outcome: 'declined',
      code: result.code,
      message: `${noun} was declined`,
      friendlyMessage: result.friendly_message,
      bankCode: result.code === results.insufficientFunds.code ? '51' : '05',
      refId: digitsOf(call.reference + ':ref', 9),
      gatewayId: SANDBOX_GATEWAY_ID,
      ...this.verification(call),
    };
  }

  /**
   * Records the operation once per reference in the append-only journal, which is also the merchant
   * account: an approved row moves the balance (a sum, see `balance`), so no row is updated and payments of
   * one shop never queue behind each other. A repeated reference answers the first outcome and moves nothing.
   */
  private async record(kind: OperationKind, call: AcquirerCall, answer: Approval | Decline, settleMs: number): Promise<Approval | Decline> {
    const now = this.options.now();
    // One autocommitted insert: its unique reference is what makes a repeated call idempotent, and a
    // conflicting insert returns only once the first one's row is committed, so it can be read after.
    const inserted = await this.options.store.write((tx) =>
      recordSandboxOperation(tx, {
        reference: call.reference,
        shop_id: call.shopId,
        kind,
        amount: call.amount,
        currency: call.currency,
        approved: answer.outcome === 'approved' ? 1 : 0,
        response: JSON.stringify(answer),
        settle_at: new Date(now.getTime() + settleMs).toISOString(),
        created_at: now.toISOString(),
      }),
    );
    if (inserted) return answer;
    const first = await findSandboxOperation(this.options.store.sql, call.reference);
    return JSON.parse(first!.response) as Approval | Decline;
  }
}

function threeDSecureBlock(status: string, message: string, veStatus: string, paStatus: string | null): Record<string, unknown> {
  return {
    status,
    message,
    ve_status: veStatus,
    pa_status: paStatus,
    eci: paStatus === 'Y' ? '05' : null,
    xid: null,
    cavv: null,
    cavv_algorithm: null,
    fail_reason: status === 'failed' ? message : null,
    acs_url: null,
    pa_req: null,
    md: null,
    pa_res_url: null,
    method_process_url: null,
    creq: null,
  };
}
