import { Writable } from 'node:stream';

/** A pino destination that keeps every line the gateway logs, for tests that read the log. */
export function logCapture(): { lines: string[]; destination: Writable } {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk, _encoding, callback) {
      lines.push(chunk.toString());
      callback();
    },
  });
  return { lines, destination };
}
