import type { RequestReader } from '../domain/request.js';

/**
 * The sandbox bank's shop settings (`acquirer_settings`, documented in sandbox.ts and the README), each
 * with its range. A value out of range used to be ignored in silence (the bank fell back to its default),
 * so an operator who typed `timeout_rate: 5` believed the faults were on.
 */
type Rule = { kind: 'ms'; max: number } | { kind: 'rate' };

/** Waits go through setTimeout: beyond 2^31-1 ms Node fires at once instead. Ten minutes is slower than any bank. */
const MAX_WAIT_MS = 600_000;

export const SANDBOX_SETTINGS: Record<string, Rule> = {
  latency_ms: { kind: 'ms', max: MAX_WAIT_MS },
  slow_ms: { kind: 'ms', max: MAX_WAIT_MS },
  // Not a wait: how long an answer-lost operation stays "in progress" for inquiries.
  settle_ms: { kind: 'ms', max: 2 ** 31 - 1 },
  timeout_rate: { kind: 'rate' },
  error_rate: { kind: 'rate' },
};

/** `acquirer_settings` of the admin API: an object of known settings, each in its range. */
export function readAcquirerSettings(reader: RequestReader): Record<string, unknown> | undefined {
  const settings = reader.freeObject('acquirer_settings');
  if (!settings) return undefined;
  const nested = reader.object('acquirer_settings')!;
  for (const [name, value] of Object.entries(settings)) {
    const rule = SANDBOX_SETTINGS[name];
    if (!rule) nested.fail(name, 'is not a known setting');
    else if (rule.kind === 'ms' && !(Number.isInteger(value) && (value as number) >= 0 && (value as number) <= rule.max)) {
      nested.fail(name, `must be a whole number of milliseconds from 0 to ${rule.max}`);
    } else if (rule.kind === 'rate' && !(typeof value === 'number' && value >= 0 && value <= 1)) {
      nested.fail(name, 'must be a number from 0 to 1');
    }
  }
  return settings;
}
