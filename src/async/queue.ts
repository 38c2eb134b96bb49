import { randomUUID } from 'node:crypto';
import { asyncBacklogFull } from '../domain/errors.js';
import { isCanonicalUid } from '../domain/uid.js';
import type { Shop } from '../domain/shop.js';
import type { ApiResponse, ProcessingContext } from '../processing/context.js';
import { refuseOtherRequest, requestHash } from '../processing/idempotency.js';
import { isMutating } from '../processing/operations/index.js';
import { GroupCommit } from '../store/groupCommit.js';
import type { AsyncTaskTable } from '../store/schema.js';
import { countUnfinished, findTask, findTaskState, insertTasks, type KeyHolder, purgeExpiredTasks, takeOnceResult } from '../store/tasks.js';
import type { AsyncMetrics } from './metrics.js';
import type { TaskRequest } from './runner.js';

export interface QueueOptions {
  ctx: ProcessingContext;
  metrics: AsyncMetrics;
  /** How long a 200 result stays readable after the task was created (spec §4: 24 h). */
  retentionMs: number;
  maxQueued: number;
  maxQueuedPerShop: number;
  /** Called after a batch of new tasks is committed: wakes this process's workers and, on PostgreSQL, the others'. */
  onSubmitted: () => void;
}

/** Back-pressure reads the queue size at most this often; submits in between are counted locally. */
const COUNT_REFRESH_MS = 250;

/** Only a well-formed id is echoed: any other path text (up to the URL's length) is not written back. */
function unknown(requestId: string): ApiResponse {
  return { statusCode: 404, body: isCanonicalUid(requestId) ? { status: 'unknown', request_id: requestId } : { status: 'unknown' } };
}

/**
 * Submit, status and result of async tasks (spec §4). A submit answers only after its task row is
 * committed (durably: SQLite synchronous=FULL, PostgreSQL synchronous_commit=on) and before any acquirer
 * is asked anything.
 */
export class AsyncQueue {
  private counted: { at: number; total: number; perShop: Map<number, number> } | undefined;
  /** Concurrent submits share one commit; each answers once the commit holding its task is on disk. */
  private readonly inserts: GroupCommit<AsyncTaskTable, KeyHolder & { created: boolean }>;

  constructor(private readonly options: QueueOptions) {
    this.inserts = new GroupCommit(
      options.ctx.store,
      async (tx, tasks) => (await insertTasks(tx, tasks)).map((holder, i) => ({ ...holder, created: holder.id === tasks[i]!.id })),
      {
        // One multi-row INSERT per batch: atomic and durable on its own when it returns.
        transaction: false,
        afterCommit: (results) => {
          if (results.some((result) => result.created)) options.onSubmitted();
        },
      },
    );
  }

  private urls(id: string) {
    const base = this.options.ctx.publicUrl;
    return { status_url: `${base}/async/status/${id}`, response_url: `${base}/async/result/${id}` };
  }

  private async checkBackPressure(shop: Shop): Promise<void> {
    const now = performance.now();
    if (!this.counted || now - this.counted.at > COUNT_REFRESH_MS) {
      const counts = await countUnfinished(this.options.ctx.store, shop.id);
      this.counted = { at: now, total: counts.total, perShop: new Map([[shop.id, counts.shop]]) };
    } else if (!this.counted.perShop.has(shop.id)) {
      this.counted.perShop.set(shop.id, (await countUnfinished(this.options.ctx.store, shop.id)).shop);
    }
    const shopCount = this.counted.perShop.get(shop.id) ?? 0;
    if (this.counted.total >= this.options.maxQueued || shopCount >= this.options.maxQueuedPerShop) {
      throw asyncBacklogFull();
    }
    this.counted.total++;
    this.counted.perShop.set(shop.id, shopCount + 1);
  }

  async submit(shop: Shop, operation: string, request: TaskRequest, idempotencyKey?: string): Promise<ApiResponse> {
    const { ctx } = this.options;
    await this.checkBackPressure(shop);
    const newId = randomUUID();
    const keyed = isMutating(operation) && idempotencyKey !== undefined;
    // The task row holds the submit's key (processing/idempotency.ts says why); its insert is the claim.
    const hash = requestHash(ctx, operation, request.body);
    const { id, request_hash: heldFor } = await this.inserts.submit({
      id: newId,
      shop_id: shop.id,
      operation,
      request_enc: ctx.vault.encrypt(JSON.stringify(request)),
      // The task's transaction is recorded under this key, so a retried task finds what it already did.
      idempotency_key: keyed ? idempotencyKey : `async:${newId}`,
      request_hash: hash,
      state: 'queued',
      lease_owner: null,
      lease_expires_at: null,
      attempts: 0,
      status_code: null,
      response: null,
      created_at: ctx.now().toISOString(),
      started_at: null,
      completed_at: null,
    });
    refuseOtherRequest(heldFor, hash);
    return { statusCode: 200, body: { status: 'processing', request_id: id, ...this.urls(id) } };
  }

  /** The oldest creation time a task may have and still be served (the retention). */
  private createdAfter(): string {
    return new Date(this.options.ctx.now().getTime() - this.options.retentionMs).toISOString();
  }

  private find(shop: Shop, requestId: string) {
    if (!isCanonicalUid(requestId)) return undefined;
    return findTask(this.options.ctx.store.sql, shop.id, requestId, this.createdAfter());
  }

  async status(shop: Shop, requestId: string): Promise<ApiResponse> {
    const task = isCanonicalUid(requestId) ? await findTaskState(this.options.ctx.store.sql, shop.id, requestId, this.createdAfter()) : undefined;
    if (!task) return unknown(requestId);
    if (task.state !== 'done') return { statusCode: 200, body: { status: 'processing', request_id: requestId } };
    return { statusCode: 200, body: { status: 'completed', request_id: requestId, response_url: this.urls(requestId).response_url } };
  }

  /** A 200 result is served until the retention ends; any other result exactly once, then 404. */
  async result(shop: Shop, requestId: string): Promise<ApiResponse> {
    const task = await this.find(shop, requestId);
    if (!task) return unknown(requestId);
    if (task.state !== 'done') {
      return { statusCode: 425, body: { status: 'processing', request_id: requestId, ...this.urls(requestId) } };
    }
    if (task.status_code === 200) return { statusCode: 200, body: JSON.parse(task.response!) };
    const taken = await this.options.ctx.store.write((tx) => takeOnceResult(tx, shop.id, requestId));
    if (!taken) return unknown(requestId);
    return { statusCode: taken.status_code!, body: JSON.parse(taken.response!) };
  }

  /** Physically removes results past their retention; answers how many. */
  async purgeExpired(): Promise<number> {
    const before = new Date(this.options.ctx.now().getTime() - this.options.retentionMs).toISOString();
    let total = 0;
    for (const { operation, count } of await this.options.ctx.store.transaction((tx) => purgeExpiredTasks(tx, before))) {
      this.options.metrics.purged.inc({ operation }, count);
      total += count;
    }
    return total;
  }
}
