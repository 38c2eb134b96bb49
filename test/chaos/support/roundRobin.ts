import { setTimeout as delay } from 'node:timers/promises';

export interface Answer {
  status: number;
  body: any;
  text: string;
}

export interface SendOptions {
  auth: string;
  /** The request's RequestID: the same on every retry, so a retry is never a second operation. */
  requestId?: string;
  /** Give up retrying after this long (default 30 s): the last answer (or network error) is returned. */
  patienceMs?: number;
}

/**
 * The test's load balancer and merchant client in one: each send goes to the next live gateway in turn.
 * As a careful integration does, it retries what may be retried — a connection that failed or was cut,
 * 503 (database away), 429, 409 (the same RequestID still running) — on the next gateway with the same
 * RequestID, with a short back-off, and returns every other answer as it came.
 */
export class RoundRobin {
  private next = 0;
  /** Sends in all (retries included), and those that met a dead process or a 503. */
  sends = 0;
  unavailable = 0;

  constructor(private readonly targets: () => string[]) {}

  async send(method: string, path: string, body: unknown, options: SendOptions): Promise<Answer> {
    const deadline = performance.now() + (options.patienceMs ?? 30_000);
    for (let attempt = 0; ; attempt++) {
      const targets = this.targets();
      const base = targets[this.next++ % Math.max(targets.length, 1)];
      this.sends++;
      let answer: Answer | undefined;
      if (base !== undefined) {
        try {
          const response = await fetch(base + path, {
            method,
            headers: {
              authorization: options.auth,
              ...(options.requestId ? { RequestID: options.requestId } : {}),
              ...(body === undefined ? {} : { 'content-type': 'application/json' }),
            },
            body: body === undefined ? undefined : JSON.stringify(body),
            signal: AbortSignal.timeout(20_000),
          });
          const text = await response.text();
          answer = { status: response.status, text, body: text ? JSON.parse(text) : undefined };
        } catch {
          // The process died under the request, or was already gone: the next one is asked.
        }
      }
      const retriable = answer === undefined || answer.status === 503 || answer.status === 429 || answer.status === 409;
      if (answer === undefined || answer.status === 503) this.unavailable++;
      if (!retriable || performance.now() > deadline) {
        return answer ?? { status: 0, body: undefined, text: 'no gateway answered' };
      }
      // Back-off between retries (the client's own pacing, not a synchronisation).
      await delay(Math.min(25 * 2 ** Math.min(attempt, 5), 500));
    }
  }
}
