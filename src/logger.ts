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

export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino({ level, redact: { paths: redactedPaths, censor: '[redacted]' }, base: { service: 'ecomgate' } }, destination);
}
