import dns from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import type net from 'node:net';
import { hostAddresses, refusedRange } from './network.js';

/** What one HTTP attempt came to. `failure` is set when the receiver gave no HTTP answer at all. */
export interface AttemptAnswer {
  statusCode: number | null;
  failure: 'timeout' | 'unreachable' | null;
  error: string | null;
  /** Until the answer's status line (or the failure). */
  latencyMs: number;
}

function privateTargetError(host: string, address: string, range: string): Error {
  const reason = `${host} is a private address (${address}, ${range}): delivery refused (ECOMGATE_WEBHOOK_ALLOW_PRIVATE is off)`;
  return Object.assign(new Error(reason), { code: 'EPRIVATE' });
}

/**
 * dns.lookup that refuses every address that is not global unicast, or is this host's own: checked on the
 * address actually connected to, so a name that resolves (or re-resolves) to the operator's network is
 * refused too.
 */
const publicOnlyLookup: net.LookupFunction = (hostname, options, callback) => {
  dns.lookup(hostname, options, (err, address, family) => {
    if (err) return callback(err, address, family);
    const addresses = Array.isArray(address) ? address : [{ address, family: family ?? 0 }];
    const own = hostAddresses();
    for (const entry of addresses) {
      const range = refusedRange(entry.address, own);
      if (range) return callback(privateTargetError(hostname, entry.address, range) as NodeJS.ErrnoException, address, family);
    }
    callback(null, address, family);
  });
};

/** An idle keep-alive connection is closed after this, before a receiver's own idle timeout (Node's is 5 s) can race us. */
const IDLE_SOCKET_MS = 4_000;

/**
 * Sends one webhook attempt: POST of the exact body bytes, headers as given, no redirects followed (a 3xx
 * is not an acknowledgement). Connections are kept alive per host, so a busy shop's deliveries do not
 * pay a TCP/TLS handshake each. The deadline covers connecting, sending and the receiver's answer; the
 * answer's body is drained and ignored, and cut off at the same deadline.
 */
export class WebhookTransport {
  private readonly httpAgent = new http.Agent({ keepAlive: true, timeout: IDLE_SOCKET_MS });
  private readonly httpsAgent = new https.Agent({ keepAlive: true, timeout: IDLE_SOCKET_MS });

  constructor(
    private readonly timeoutMs: number,
    /** Deliver to loopback and private networks too (the embedded default); off, such targets fail the attempt. */
    private readonly allowPrivate = true,
  ) {}

  post(url: string, body: Buffer, headers: Record<string, string>): Promise<AttemptAnswer> {
    let target: URL;
    try {
      target = new URL(url);
    } catch {
      return Promise.resolve({ statusCode: null, failure: 'unreachable', error: 'notification URL does not parse', latencyMs: 0 });
    }
    if (target.protocol !== 'http:' && target.protocol !== 'https:') {
      return Promise.resolve({ statusCode: null, failure: 'unreachable', error: `unsupported URL scheme ${target.protocol}`, latencyMs: 0 });
    }
    // An IP literal is connected to without a lookup: it is checked here.
    const literal = target.hostname.replace(/^\[|\]$/g, '');
    const range = this.allowPrivate ? undefined : refusedRange(literal);
    if (range)
      return Promise.resolve({ statusCode: null, failure: 'unreachable', error: privateTargetError(literal, literal, range).message, latencyMs: 0 });
    const started = performance.now();
    return new Promise((resolve) => {
      let settled = false;
      const settle = (answer: Omit<AttemptAnswer, 'latencyMs'>) => {
        if (settled) return;
        settled = true;
        resolve({ ...answer, latencyMs: Math.round(performance.now() - started) });
      };
      const client = target.protocol === 'https:' ? https : http;
      const request = client.request(
        target,
        {
          method: 'POST',
          agent: target.protocol === 'https:' ? this.httpsAgent : this.httpAgent,
          ...(this.allowPrivate ? {} : { lookup: publicOnlyLookup }),
          headers: { ...headers, 'content-length': String(body.length), 'user-agent': 'ecomgate-webhooks' },
        },
        (response) => {
          settle({ statusCode: response.statusCode ?? null, failure: null, error: null });
          response.resume();
        },
      );
      const deadline = setTimeout(() => {
        settle({ statusCode: null, failure: 'timeout', error: `no answer within ${this.timeoutMs} ms` });
        request.destroy();
      }, this.timeoutMs);
      request.on('close', () => clearTimeout(deadline));
      request.on('error', (err: NodeJS.ErrnoException) => settle({ statusCode: null, failure: 'unreachable', error: err.message.slice(0, 500) }));
      request.end(body);
    });
  }

  /** Closes the kept-alive connections (graceful stop). */
  close(): void {
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
  }
}
