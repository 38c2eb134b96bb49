import pino, { type DestinationStream, type Logger } from 'pino';

/** Card fields and secrets that must never reach a log line, wherever they are nested. */
const redactedPaths = [
  'req.headers.authorization',
  'headers.authorization',
  'number',
  'verification_value',
  'secret_key',
  '*.number',
  '*.verification_value',
  '*.secret_key',
  '*.*.number',
  '*.*.verification_value',
  '*.*.*.number',
  '*.*.*.verification_value',
];

/** JSON lines for log shippers; readable lines for a person at a terminal. */
export type LogFormat = 'json' | 'pretty';
export const LOG_FORMATS: readonly LogFormat[] = ['json', 'pretty'];

/** ECOMGATE_LOG_FORMAT when set; else readable on a terminal and JSON anywhere else (a pipe, a file, a collector). */
export function chooseLogFormat(setting: LogFormat | undefined, isTerminal: boolean): LogFormat {
  return setting ?? (isTerminal ? 'pretty' : 'json');
}

const LEVEL_NAMES: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };
/** On every line already or said by the level and time in front: repeating them is noise. */
const OMITTED = new Set(['level', 'time', 'msg', 'pid', 'hostname', 'service']);

function fieldValue(value: unknown): string {
  if (typeof value === 'string') return /^[^\s"=]+$/.test(value) ? value : JSON.stringify(value);
  return JSON.stringify(value) ?? String(value);
}

/**
 * One pino JSON line as a person reads it: time, level, message, then the fields as key=value; an error's
 * stack on the lines after. It formats what pino serialized, so the redaction above has been applied.
 */
export function prettyLine(json: string): string {
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(json) as Record<string, unknown>;
  } catch {
    return json;
  }
  const time = typeof entry.time === 'number' ? new Date(entry.time).toISOString() : '';
  const level = (LEVEL_NAMES[entry.level as number] ?? String(entry.level)).padEnd(5);
  const parts = [time, level, typeof entry.msg === 'string' ? entry.msg : ''];
  const stacks: string[] = [];
  for (const [key, value] of Object.entries(entry)) {
    if (OMITTED.has(key)) continue;
    const stack = value !== null && typeof value === 'object' ? (value as { stack?: unknown }).stack : undefined;
    if (typeof stack === 'string') {
      const { stack: _stack, type: _type, ...rest } = value as Record<string, unknown>;
      for (const [inner, innerValue] of Object.entries(rest)) parts.push(`${key}.${inner}=${fieldValue(innerValue)}`);
      stacks.push(stack.replace(/^/gm, '    '));
    } else {
      parts.push(`${key}=${fieldValue(value)}`);
    }
  }
  return [parts.filter((part) => part !== '').join(' '), ...stacks].join('\n') + '\n';
}

/** A pino destination writing `prettyLine`s to `out` (pino writes one JSON line per call). */
export function prettyStream(out: { write(text: string): unknown }): DestinationStream {
  return {
    write(chunk: string) {
      for (const line of chunk.split('\n')) if (line !== '') out.write(prettyLine(line));
    },
  };
}

export function createLogger(level: string, destination?: DestinationStream, format: LogFormat = 'json'): Logger {
  const target = format === 'pretty' ? prettyStream(destination ?? pino.destination({ dest: 1, sync: true })) : destination;
  return pino({ level, redact: { paths: redactedPaths, censor: '[redacted]' }, base: { service: 'ecomgate' } }, target);
}
