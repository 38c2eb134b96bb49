import { type FieldError, validationError } from './errors.js';
import { isKnownCurrency } from './currency.js';
import { isIP } from 'node:net';

/**
 * Reads one level of a merchant request, collecting field errors instead of throwing, so that one 422
 * lists every problem of the request at once (as the original gateway does).
 *
 * Compatibility rule of the API: for an optional field `null` and `""` mean absent; unknown fields are
 * ignored. Readers of nested objects share their parent's error list. A reader of a required value
 * (`required`, `amount`, `currency`) answers the empty value of its type ('' or 0) after recording a
 * failure, so its type stays honest: `check()` throws before that value can be used.
 */
export const MAX_AMOUNT = 999_999_999_999_999;
const DEFAULT_MAX_LENGTH = 255;

type Json = Record<string, unknown>;

export function isPlainObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * A text's length as the API counts it: in characters (Unicode code points), not UTF-16 units, so a
 * limit of N takes N emoji. A string never has more code points than units, hence the quick path.
 */
export function characterCount(value: string): number {
  if (value.length <= 1) return value.length;
  let count = 0;
  for (const _ of value) count++;
  return count;
}

const isLeapYear = (year: number) => year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
const daysInMonth = (year: number, month: number) => (month === 2 ? (isLeapYear(year) ? 29 : 28) : [4, 6, 9, 11].includes(month) ? 30 : 31);

/**
 * `YYYY-MM-DD[Thh:mm[:ss[.fff]][Z|±hh[:]mm]]` naming a moment that exists: `new Date` quietly moves
 * 2027-02-30 to March 2 and 2026-04-31T10:00:00Z to May 1, so each part is checked against the calendar.
 */
const ISO_TIMESTAMP = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?(Z|[+-](\d{2}):?(\d{2}))?)?$/;

export function parseTimestamp(value: string): Date | undefined {
  const parts = ISO_TIMESTAMP.exec(value);
  if (!parts) return undefined;
  const [year, month, day, hour, minute, second, , offsetHours, offsetMinutes] = parts
    .slice(1)
    .map((part) => (part === undefined ? 0 : Number(part)));
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return undefined;
  if (hour > 23 || minute > 59 || second > 59 || offsetHours > 23 || offsetMinutes > 59) return undefined;
  const parsed = new Date(value);
  return Number.isNaN(parsed.getTime()) ? undefined : parsed;
}

function isAbsent(value: unknown): boolean {
  return value === undefined || value === null || value === '';
}

export class RequestReader {
  constructor(
    private readonly fields: Json,
    private readonly path: string[] = [],
    readonly errors: FieldError[] = [],
  ) {}

  fail(name: string, message: string, sentence?: string): undefined {
    this.errors.push({ path: [...this.path, name], message, sentence });
    return undefined;
  }

  has(name: string): boolean {
    return !isAbsent(this.fields[name]);
  }

  raw(name: string): unknown {
    return this.fields[name];
  }

  string(name: string, options: { required?: boolean; max?: number } = {}): string | undefined {
    const value = this.fields[name];
    if (isAbsent(value)) return options.required ? this.fail(name, "can't be blank") : undefined;
    if (typeof value !== 'string') return this.fail(name, 'is invalid');
    const max = options.max ?? DEFAULT_MAX_LENGTH;
    if (value.length > max && characterCount(value) > max) return this.fail(name, `is too long (maximum is ${max} characters)`);
    if (value.includes('\u0000')) return this.fail(name, 'is invalid');
    return value;
  }

  required(name: string, options: { max?: number } = {}): string {
    return this.string(name, { ...options, required: true }) ?? '';
  }

  boolean(name: string): boolean | undefined {
    const value = this.fields[name];
    if (isAbsent(value)) return undefined;
    if (value === true || value === 'true') return true;
    if (value === false || value === 'false') return false;
    return this.fail(name, 'is invalid');
  }

  /** A positive integer amount in minor units. */
  amount(name = 'amount'): number {
    const value = this.fields[name];
    if (isAbsent(value)) return this.fail(name, "can't be blank") ?? 0;
    if (typeof value !== 'number' || !Number.isFinite(value)) return this.fail(name, 'is not a number') ?? 0;
    if (!Number.isInteger(value)) return this.fail(name, 'must be an integer') ?? 0;
    if (value <= 0) return this.fail(name, 'must be greater than 0') ?? 0;
    if (value > MAX_AMOUNT) return this.fail(name, `must be less than or equal to ${MAX_AMOUNT}`) ?? 0;
    return value;
  }

  currency(name = 'currency'): string {
    const value = this.string(name, { required: true, max: 3 });
    if (value === undefined) return '';
    if (!isKnownCurrency(value)) return this.fail(name, 'is invalid') ?? '';
    return value;
  }

  /** An integer within bounds, sent as a number or a string of digits (exp_month, exp_year). */
  integer(name: string, min: number, max: number, options: { required?: boolean } = {}): number | undefined {
    const value = this.fields[name];
    if (isAbsent(value)) return options.required ? this.fail(name, "can't be blank") : undefined;
    const number = typeof value === 'string' && /^\d{1,9}$/.test(value) ? Number(value) : value;
    if (typeof number !== 'number' || !Number.isInteger(number) || number < min || number > max) {
      return this.fail(name, 'is invalid');
    }
    return number;
  }

  timestamp(name: string): Date | undefined {
    const value = this.string(name, { max: 64 });
    if (value === undefined) return undefined;
    return parseTimestamp(value) ?? this.fail(name, 'is invalid');
  }

  /** A calendar day, `YYYY-MM-DD` (birth_date): kept as sent. */
  date(name: string): string | undefined {
    const value = this.string(name, { max: 10 });
    if (value === undefined) return undefined;
    return /^\d{4}-\d{2}-\d{2}$/.test(value) && parseTimestamp(value) ? value : this.fail(name, 'is invalid');
  }

  /** An IPv4 or IPv6 address in its textual form. */
  ip(name: string): string | undefined {
    const value = this.string(name, { max: 64 });
    if (value === undefined) return undefined;
    return isIP(value) === 0 ? this.fail(name, 'is invalid') : value;
  }

  url(name: string): string | undefined {
    const value = this.string(name, { max: 2048 });
    if (value === undefined) return undefined;
    try {
      const url = new URL(value);
      if (url.protocol !== 'http:' && url.protocol !== 'https:') return this.fail(name, 'is invalid');
    } catch {
      return this.fail(name, 'is invalid');
    }
    return value;
  }

  /** A nested object read with the same rules; undefined when absent. */
  object(name: string, options: { required?: boolean } = {}): RequestReader | undefined {
    const value = this.fields[name];
    if (isAbsent(value) || (Array.isArray(value) && value.length === 0)) {
      return options.required ? this.fail(name, "can't be blank") : undefined;
    }
    if (!isPlainObject(value)) return this.fail(name, 'is invalid');
    return new RequestReader(value, [...this.path, name], this.errors);
  }

  /** A free-form object stored and echoed as it came (additional_data); must still be an object. */
  freeObject(name: string): Json | undefined {
    const value = this.fields[name];
    if (isAbsent(value) || (Array.isArray(value) && value.length === 0)) return undefined;
    if (!isPlainObject(value)) return this.fail(name, 'is invalid');
    return value;
  }

  /**
   * Echoed sub-objects (customer, billing_address): only known string members are kept; a member named
   * in `formats` must also be an IP address or a calendar date.
   */
  stringRecord(name: string, members: readonly string[], formats: Record<string, 'ip' | 'date'> = {}): Record<string, string | null> | undefined {
    const reader = this.object(name);
    if (!reader) return undefined;
    const record: Record<string, string | null> = {};
    for (const member of members) {
      const format = formats[member];
      record[member] = (format === 'ip' ? reader.ip(member) : format === 'date' ? reader.date(member) : reader.string(member)) ?? null;
    }
    return record;
  }

  /** Throws the 422 for everything collected so far. */
  check(): void {
    if (this.errors.length > 0) throw validationError(this.errors);
  }
}

/** `{"request": {...}}` is required around every body. */
export function unwrapRequest(body: unknown): RequestReader {
  if (!isPlainObject(body) || !isPlainObject(body.request)) {
    throw validationError([{ path: ['request'], message: "can't be blank" }]);
  }
  return new RequestReader(body.request);
}
