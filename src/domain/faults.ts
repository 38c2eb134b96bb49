/**
 * What kind of failure an error is. Every layer asks: HTTP answers a store outage 503 instead of 500, async
 * tasks stay leased instead of storing a 500 result, background jobs log it as a warning. The codes are the
 * drivers' (node sockets, PostgreSQL SQLSTATE, better-sqlite3), read from the error object alone.
 */

/** Socket errors and PostgreSQL states that mean "the database cannot be reached now", not "the query is wrong". */
const UNREACHABLE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);
const UNAVAILABLE_STATES = new Set(['57P01', '57P02', '57P03', '53300']);
const UNREACHABLE_MESSAGES = [/^Connection terminated/, /timeout exceeded when trying to connect/, /not queryable/, /Client was closed/];

/**
 * True when a store call failed because the database is unreachable or busy (a restart, a cut pool, a
 * locked SQLite file): the request can be retried later, and nothing was committed by it. Such a fault is
 * answered 503, not 500.
 */
export function isStoreUnavailable(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string') {
    if (UNREACHABLE_CODES.has(code) || UNAVAILABLE_STATES.has(code) || code.startsWith('08')) return true;
    if (code === 'SQLITE_BUSY' || code === 'SQLITE_BUSY_TIMEOUT') return true;
  }
  return UNREACHABLE_MESSAGES.some((pattern) => pattern.test(error.message));
}

/**
 * The level a background fault is logged at. A store outage is a warning, the level the HTTP side logs
 * its 503s at: one event, one level, so an alert on errors does not fire on every database restart (the
 * work is retried once the database is back). Anything else is an error.
 */
export function faultLevel(error: unknown): 'warn' | 'error' {
  return isStoreUnavailable(error) ? 'warn' : 'error';
}
