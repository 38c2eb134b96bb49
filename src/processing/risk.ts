import type { ListRules, Shop } from '../domain/shop.js';
import type { Sql } from '../store/sql.js';
import { cardActivity } from '../store/transactions.js';

/**
 * be_protected_verification: the shop's white and black lists (card stamp, email, IP), the amount limit
 * of one transaction and the per-card daily velocity limits. A black-listed value fails; a white-listed
 * one passes the limits.
 */
export interface RiskSubject {
  stamp: string;
  email?: string | null;
  ip?: string | null;
  amount: number;
}

export interface RiskVerdict {
  passed: boolean;
  message: string;
  verification: Record<string, unknown>;
}

type ListMark = 'absent' | 'white' | 'black';

function mark(value: string | null | undefined, white: string[] | undefined, black: string[] | undefined): ListMark {
  if (!value) return 'absent';
  const needle = value.toLowerCase();
  if (black?.some((entry) => entry.toLowerCase() === needle)) return 'black';
  if (white?.some((entry) => entry.toLowerCase() === needle)) return 'white';
  return 'absent';
}

function listOf(rules: ListRules | undefined, name: keyof ListRules): string[] | undefined {
  return rules?.[name];
}

/** The card's activity today, read only when the shop has a daily rule (issued at the call, with A's other reads). */
export function cardActivityToday(db: Sql, shop: Shop, stamp: string, now: Date): Promise<{ count: number; volume: number }> {
  const rules = shop.riskRules;
  if (rules.daily_count === undefined && rules.daily_volume === undefined) return Promise.resolve({ count: 0, volume: 0 });
  const dayStart = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate())).toISOString();
  return cardActivity(db, shop.id, stamp, dayStart);
}

export function evaluateRisk(shop: Shop, subject: RiskSubject, activity: { count: number; volume: number }): RiskVerdict {
  const rules = shop.riskRules;
  const lists = {
    email: mark(subject.email, listOf(rules.white_list, 'emails'), listOf(rules.black_list, 'emails')),
    ip: mark(subject.ip, listOf(rules.white_list, 'ips'), listOf(rules.black_list, 'ips')),
    card_number: mark(subject.stamp, listOf(rules.white_list, 'card_stamps'), listOf(rules.black_list, 'card_stamps')),
  };
  const limit = {
    volume: rules.daily_volume ?? null,
    count: rules.daily_count ?? null,
    max: rules.max_amount ?? null,
    current_volume: activity.volume,
    current_count: activity.count,
  };
  const ruleResults: Record<string, string> = {};
  let failure: string | undefined;
  const blackListed = Object.entries(lists).find(([, value]) => value === 'black');
  if (blackListed) {
    ruleResults.black_list = 'failed';
    failure = `${blackListed[0] === 'card_number' ? 'Card' : blackListed[0] === 'ip' ? 'IP address' : 'Email'} is in the black list`;
  }
  const whiteListed = Object.values(lists).includes('white');
  if (!failure && !whiteListed) {
    if (rules.max_amount !== undefined) {
      const ok = subject.amount <= rules.max_amount;
      ruleResults.max_amount = ok ? 'passed' : 'failed';
      if (!ok) failure = 'Amount exceeds the limit of one transaction';
    }
    if (!failure && rules.daily_count !== undefined) {
      const ok = activity.count + 1 <= rules.daily_count;
      ruleResults.daily_count = ok ? 'passed' : 'failed';
      if (!ok) failure = 'Card exceeded the daily number of transactions';
    }
    if (!failure && rules.daily_volume !== undefined) {
      const ok = activity.volume + subject.amount <= rules.daily_volume;
      ruleResults.daily_volume = ok ? 'passed' : 'failed';
      if (!ok) failure = 'Card exceeded the daily volume';
    }
  }
  return {
    passed: failure === undefined,
    message: failure ?? 'Risk rules passed',
    verification: {
      status: failure ? 'failed' : 'successful',
      message: failure ?? null,
      white_black_list: lists,
      rules: ruleResults,
      limit,
    },
  };
}
