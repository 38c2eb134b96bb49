import { type FieldError, validationError } from './errors.js';
import { isKnownCurrency } from './currency.js';

/**
 * Reads one level of a merchant request, collecting field errors instead of throwing, so that one 422
 * lists every problem of the request at once (as the original gateway does).
 *
 * Compatibility rule of the API: for an optional field `null` and `""` mean absent; unknown fields are
 * ignored. Readers of nested objects share their parent's error list.
 */
export const MAX_AMOUNT = 999_999_999_999_999;
const DEFAULT_MAX_LENGTH = 255;

type Json = Record<string, unknown>;

export function isPlainObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
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
    if (value.length > max) return this.fail(name, `is too long (maximum is ${max} characters)`);
    if (value.includes('\u0000')) return this.fail(name, 'is invalid');
    return value;
  }

  required(name: string, options: { max?: number } = {}): string {
    return this.string(name, { ...options, required: true }) as string;
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
    if (isAbsent(value)) return this.fail(name, "can't be blank") as unknown as number;
    if (typeof value !== 'number' || !Number.isFinite(value)) return this.fail(name, 'is not a number') as unknown as number;
    if (!Number.isInteger(value)) return this.fail(name, 'must be an integer') as unknown as number;
    if (value <= 0) return this.fail(name, 'must be greater than 0') as unknown as number;
    if (value > MAX_AMOUNT) return this.fail(name, `must be less than or equal to ${MAX_AMOUNT}`) as unknown as number;
    return value;
  }

  currency(name = 'currency'): string {
    const value = this.string(name, { required: true, max: 3 });
    if (value === undefined) return value as unknown as string;
    if (!isKnownCurrency(value)) return this.fail(name, 'is invalid') as unknown as string;
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
    const isoLike = /^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/;
    const parsed = new Date(value);
    if (!isoLike.test(value) || Number.isNaN(parsed.getTime())) return this.fail(name, 'is invalid');
    return parsed;
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

  /** Echoed sub-objects (customer, billing_address): only known string members are kept. */
  stringRecord(name: string, members: readonly string[]): Record<string, string | null> | undefined {
    const reader = this.object(name);
    if (!reader) return undefined;
    const record: Record<string, string | null> = {};
    for (const member of members) record[member] = reader.string(member) ?? null;
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
