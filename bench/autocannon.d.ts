/**
 * The part of autocannon's programmatic API the benchmark uses (the package ships no types, and one
 * small declaration is lighter than another dependency).
 */
declare module 'autocannon' {
  export interface Request {
    method?: string;
    path?: string;
    headers?: Record<string, string>;
    body?: string;
    /** Called before every send of this request; answers the request to send (a fresh body, say). */
    setupRequest?: (request: Request, context: Record<string, unknown>) => Request;
    /** Called with every answer to this request; `context` is the connection's own, shared by its requests. */
    onResponse?: (status: number, body: string, context: Record<string, unknown>) => void;
  }

  /** A single request's path goes in `url`: autocannon ignores a top-level `path`. */
  export interface Options extends Omit<Request, 'path'> {
    url: string;
    connections?: number;
    /** Seconds. */
    duration?: number;
    /** Stop after this many requests instead of after `duration`. */
    amount?: number;
    /** Seconds before a request counts as timed out. */
    timeout?: number;
    /** Cycled through in order by every connection. */
    requests?: Request[];
  }

  export interface Histogram {
    average: number;
    p50: number;
    p90: number;
    p99: number;
    max: number;
    total: number;
  }

  export interface Result {
    /** Milliseconds, hdr-histogram (whole milliseconds). */
    latency: Histogram;
    requests: Histogram & { sent: number };
    /** Seconds the run took. */
    duration: number;
    errors: number;
    timeouts: number;
    non2xx: number;
    '2xx': number;
    statusCodeStats: Record<string, { count: number }>;
  }

  /** The run, awaitable; stop() ends it early (what was answered so far is its result). */
  export interface Run extends PromiseLike<Result> {
    stop(): void;
  }

  function autocannon(options: Options): Run;
  export default autocannon;
}
