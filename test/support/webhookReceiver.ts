import { createPublicKey, randomBytes, verify } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PATIENCE_MS, within } from './deadline.js';

export interface ReceivedWebhook {
  headers: IncomingHttpHeaders;
  /** The body exactly as it came over the wire. */
  raw: Buffer;
  body: any;
}

/** How to answer the n-th webhook (1-based): an HTTP status, or 'hold' to leave it unanswered until release(). */
export type Answer = (n: number, webhook: ReceivedWebhook) => number | 'hold';

/**
 * A merchant's webhook endpoint on a real HTTP server (port 0). Each receiver listens on its own random
 * path, so a stray delivery of another test (a port reused after a close) is never counted here.
 */
export class WebhookReceiver {
  readonly received: ReceivedWebhook[] = [];
  answer: Answer = () => 200;
  maxInFlight = 0;
  private inFlight = 0;
  private readonly held: ServerResponse[] = [];
  private readonly waiters: { count: number; resolve: () => void }[] = [];

  private constructor(
    private readonly server: Server,
    readonly url: string,
  ) {}

  static async start(answer?: Answer): Promise<WebhookReceiver> {
    const path = `/hooks/${randomBytes(8).toString('hex')}`;
    let receiver: WebhookReceiver | undefined;
    const server = createServer((request, response) => receiver!.handle(path, request, response));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    receiver = new WebhookReceiver(server, `http://127.0.0.1:${port}${path}`);
    if (answer) receiver.answer = answer;
    return receiver;
  }

  /** Webhooks received and not answered yet (held). */
  get pending(): number {
    return this.inFlight;
  }

  /** Resolves once `count` webhooks have arrived (at once if they already have); fails the test after `ms`. */
  waitFor(count: number, ms = PATIENCE_MS): Promise<void> {
    if (this.received.length >= count) return Promise.resolve();
    const arrived = new Promise<void>((resolve) => this.waiters.push({ count, resolve }));
    return within(arrived, ms, () => `${this.received.length} of ${count} webhooks arrived within ${ms} ms`);
  }

  /** Answers every held webhook. */
  release(status = 200): void {
    for (const response of this.held.splice(0)) this.reply(response, status);
  }

  async close(): Promise<void> {
    this.release(503);
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private handle(path: string, request: import('node:http').IncomingMessage, response: ServerResponse): void {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      if (request.url !== path || request.method !== 'POST') {
        response.writeHead(404).end();
        return;
      }
      const raw = Buffer.concat(chunks);
      let body: unknown;
      try {
        body = JSON.parse(raw.toString('utf8'));
      } catch {
        body = undefined;
      }
      const webhook = { headers: request.headers, raw, body };
      this.received.push(webhook);
      this.inFlight++;
      this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
      const answer = this.answer(this.received.length, webhook);
      if (answer === 'hold') this.held.push(response);
      else this.reply(response, answer);
      for (const waiter of this.waiters.filter((w) => this.received.length >= w.count)) {
        this.waiters.splice(this.waiters.indexOf(waiter), 1);
        waiter.resolve();
      }
    });
  }

  private reply(response: ServerResponse, status: number): void {
    this.inFlight--;
    if (!response.destroyed) response.writeHead(status, { 'content-type': 'text/plain' }).end(status < 300 ? 'OK' : 'no');
  }
}

/** What a merchant does with a webhook: checks the signature over the raw body with the shop's public key. */
export function signatureIsValid(raw: Buffer, signature: string | string[] | undefined, publicKey: string): boolean {
  if (typeof signature !== 'string') return false;
  const key = createPublicKey({ key: Buffer.from(publicKey, 'base64'), format: 'der', type: 'spki' });
  return verify('sha256', raw, { key }, Buffer.from(signature, 'base64'));
}
