/** Transaction uids and async request ids: UUIDs as `randomUUID` writes them (lowercase). */
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const UUID_ANY_CASE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * A uid a merchant or the operator sent: the original API matches it in any case. Anything else (another
 * shape, another JSON type) cannot name a record of ours, so it is answered as not found without a query.
 */
export function isUid(value: unknown): value is string {
  return typeof value === 'string' && UUID_ANY_CASE.test(value);
}

/** Exactly the form the gateway writes: for ids echoed back or looked up as they came (pages, async ids). */
export function isCanonicalUid(value: string): boolean {
  return UUID.test(value);
}
