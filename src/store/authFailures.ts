import type { Sql } from './sql.js';
import { windowCounter } from './windowCounts.js';

/**
 * Failed shop authentications per subject (`address:<ip>`, `shop:<id>`) and fixed window, shared by every
 * process on one database (src/limits/authThrottle.ts). Windows in milliseconds.
 */
const failures = windowCounter('auth_failures', 'subject');

export const countAuthFailure = (tx: Sql, subject: string, windowStart: number): Promise<number> => failures.count(tx, subject, windowStart);

export const forgetAuthFailuresBefore = (tx: Sql, before: number): Promise<number> => failures.forgetBefore(tx, before);
