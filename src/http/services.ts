import type { AsyncQueue } from '../async/queue.js';
import type { ShopService } from '../operator/shops.js';
import type { ProcessingContext } from '../processing/context.js';
import type { DeliveryWorkers } from '../webhooks/workers.js';
import type { AuthThrottle } from '../limits/authThrottle.js';
import type { Metrics } from './metrics.js';
import type { ShopRateLimiter } from '../limits/sharedRateLimit.js';

/** What the HTTP layer is handed by the app. */
export interface HttpServices {
  ctx: ProcessingContext;
  shops: ShopService;
  metrics: Metrics;
  rateLimiter: ShopRateLimiter;
  authThrottle: AuthThrottle;
  /** Pending/processing transactions older than this are listed at /admin/in-doubt (default 24 h). */
  inDoubtDeadlineMs?: number;
  adminToken: string | undefined;
  asyncQueue: AsyncQueue;
  /** Woken when a delivery is queued by hand (renotify, the operator's retry). */
  webhooks: Pick<DeliveryWorkers, 'wake'>;
}
