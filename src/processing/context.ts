import type { AcquirerConnector } from '../acquirers/connector.js';
import type { Shop } from '../domain/shop.js';
import type { Store } from '../store/db.js';
import type { Vault } from '../vault/vault.js';

/** What every operation needs, wired once by the app. */
export interface ProcessingContext {
  store: Store;
  vault: Vault;
  now: () => Date;
  /** Base of every URL handed out; without a configured one it follows the bound address (read, never kept). */
  readonly publicUrl: string;
  acquirerTimeoutMs: number;
  inquiryDelayMs: number;
  inquiryMaxDelayMs: number;
  /** At most `count` renotify deliveries of one transaction queued within `windowMs`. */
  renotifyLimit: { count: number; windowMs: number };
  acquirerFor(shop: Shop): AcquirerConnector;
  cardGuard: CardGuardSettings;
}

/** One merchant request to an operation. */
export interface Invocation {
  shop: Shop;
  body: unknown;
  /** `RequestID` / `Idempotency-Key`: linked to the transaction inside transaction A. */
  idempotencyKey?: string;
  /** The claim on that key this attempt holds (set by `idempotent`); transaction A links only under it. */
  idempotencyClaim?: string;
  /** Path parameters of the query operations (`uid`, `tracking_id`). */
  params?: Record<string, string>;
  /** The async task running this request: its result is stored in transaction B, in the same commit. */
  task?: TaskCompletion;
}

/** An async task whose result transaction B stores; `completed` says whether it did. */
export interface TaskCompletion {
  id: string;
  /** The lease holder: only it may complete the task. */
  owner: string;
  completed?: boolean;
  /** The response format its submit asked for, in which its result is stored (spec §10); v2 when absent. */
  apiVersion?: ApiVersion;
}

/** The response formats of the API (spec §10): see apiVersion.ts. */
export type ApiVersion = 2 | 3;

/** Exactly what the HTTP layer sends back (the async mode stores the same). */
export interface ApiResponse {
  statusCode: number;
  body: unknown;
}

/** The card-enumeration guard (cardGuard.ts): at most `maxNumbers` different numbers behind one shown pair. */
export interface CardGuardSettings {
  windowMs: number;
  /** 0 turns the guard off. */
  maxNumbers: number;
  /** The operator's signal (log line, metric); called after the alert row is written. */
  onRefused(shopId: number): void;
}
