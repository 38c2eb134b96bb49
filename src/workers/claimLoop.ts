import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { faultLevel } from '../domain/faults.js';

export interface ClaimLoopOptions<Item> {
  /** What the loop works on, for its logs ("async tasks", "webhook deliveries"). */
  name: string;
  /** Takes up to `limit` items for this process (a lease in the store); answers what it took. */
  claim(limit: number): Promise<Item[]>;
  /** Works one claimed item off. A rejection is logged; the item's lease decides what happens to it. */
  run(item: Item): Promise<void>;
  /** Items in flight in this process at most. */
  concurrency: number;
  /** Most items one claim query takes. */
  batch: number;
  /** Fallback wake-up when no signal came (expired leases of dead workers, missed notifications, due times). */
  pollMs: number;
  log: Logger;
}

/**
 * The claim loop shared by the store-backed queues (async tasks, webhook deliveries). One loop fills free
 * slots with a single claim query each round; it sleeps until woken (new work in this process, a NOTIFY
 * from another, a slot freed) or until the poll interval passes, so an idle gateway picks new work up at
 * once without busy polling.
 *
 * Claims are serialised (the background loop and a test's drain() never claim at the same time), so the
 * free-slot count a claim is sized by is never stale.
 */
export class ClaimLoop<Item> {
  private readonly inFlight = new Set<Promise<void>>();
  private stopped = false;
  private woken = false;
  private wakeUp: (() => void) | undefined;
  private loopDone: Promise<void> | undefined;
  private claiming: Promise<unknown> = Promise.resolve();

  constructor(private readonly options: ClaimLoopOptions<Item>) {}

  start(): void {
    this.loopDone ??= this.loop();
  }

  /** Something may be claimable: new work was stored, or a slot freed. */
  wake(): void {
    this.woken = true;
    this.wakeUp?.();
  }

  get busy(): number {
    return this.inFlight.size;
  }

  /** True once stop() began: a run that fails now should hand its item back rather than wait for its lease. */
  get stopping(): boolean {
    return this.stopped;
  }

  /** Graceful stop: claim nothing more, let in-flight items finish (each is bounded by its own timeout). */
  async stop(): Promise<void> {
    this.stopped = true;
    this.wake();
    await this.loopDone;
    await this.claiming.catch(() => {});
    await Promise.allSettled(this.inFlight.values());
  }

  /** Claims and runs what is claimable now, and waits for it (tests drive the queue this way). */
  async drain(): Promise<void> {
    for (;;) {
      const claimed = await this.claimNow(this.options.concurrency);
      if (claimed === 0 && this.inFlight.size === 0) return;
      await Promise.allSettled(this.inFlight.values());
    }
  }

  private async loop(): Promise<void> {
    const { batch, concurrency, log, name } = this.options;
    while (!this.stopped) {
      let claimed = 0;
      try {
        claimed = await this.claimNow(batch);
      } catch (err) {
        log[faultLevel(err)]({ err }, `claiming ${name} failed`);
      }
      // A full batch may mean more is waiting: claim again at once while slots are free.
      if (claimed === batch && this.inFlight.size < concurrency) continue;
      await this.idle();
    }
  }

  private claimNow(most: number): Promise<number> {
    const next = this.claiming
      .catch(() => {})
      .then(async () => {
        const limit = Math.min(most, this.options.concurrency - this.inFlight.size);
        if (limit <= 0 || this.stopped) return 0;
        const items = await this.options.claim(limit);
        for (const item of items) this.track(item);
        return items.length;
      });
    this.claiming = next;
    return next;
  }

  private track(item: Item): void {
    // Each item starts on its own turn of the event loop: on SQLite every query resolves without I/O, and
    // a batch of items chained through microtasks alone would keep the HTTP server from answering.
    const running: Promise<void> = new Promise<void>((resolve) => setImmediate(resolve))
      .then(() => this.options.run(item))
      .catch((err) => this.options.log[faultLevel(err)]({ err }, `running one of the ${this.options.name} failed`))
      .finally(() => {
        this.inFlight.delete(running);
        this.wake();
      });
    this.inFlight.add(running);
  }

  private idle(): Promise<void> {
    if (this.woken || this.stopped) {
      this.woken = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const timer = setTimeout(done, this.options.pollMs);
      timer.unref();
      const self = this;
      function done() {
        clearTimeout(timer);
        self.wakeUp = undefined;
        self.woken = false;
        resolve();
      }
      this.wakeUp = done;
    });
  }
}

/**
 * The workers of one store-backed queue in this process: a subclass says how to claim items and how to
 * work one off; starting, waking, stopping and draining are the claim loop's.
 */
export abstract class QueueWorkers<Item> {
  /** This process's name on the leases it takes. */
  readonly owner = `${process.pid}-${randomUUID().slice(0, 8)}`;
  protected readonly loop: ClaimLoop<Item>;

  constructor(settings: Omit<ClaimLoopOptions<Item>, 'claim' | 'run'>) {
    this.loop = new ClaimLoop({ ...settings, claim: (limit) => this.claim(limit), run: (item) => this.run(item) });
  }

  /** Takes up to `limit` items under a lease held by `owner`. */
  protected abstract claim(limit: number): Promise<Item[]>;
  /** Works one claimed item off. */
  protected abstract run(item: Item): Promise<void>;

  start(): void {
    this.loop.start();
  }

  /** Something may be claimable: work was stored in this process, or a slot freed. */
  wake(): void {
    this.loop.wake();
  }

  get busy(): number {
    return this.loop.busy;
  }

  /** Graceful stop: claim nothing more, let in-flight items finish (each is bounded by its own timeout). */
  stop(): Promise<void> {
    return this.loop.stop();
  }

  /** Claims and works off everything claimable now, and waits for it (tests drive the queues this way). */
  drain(): Promise<void> {
    return this.loop.drain();
  }
}
