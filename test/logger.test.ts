import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe } from 'node:test';
import { it } from './support/deadline.js';
import { readConfig } from '../src/config.js';
import { chooseLogFormat, createLogger, type LogFormat } from '../src/logger.js';

/**
 * `serve` on a terminal prints lines a person reads; piped or redirected (a log shipper) it prints the
 * JSON lines as before. ECOMGATE_LOG_FORMAT overrides either way. Card data stays out of both.
 */

const PAN = '4200000000000000';
const CVC = '987';

function capture(format: LogFormat) {
  const lines: string[] = [];
  const log = createLogger(
    'info',
    new Writable({
      write: (chunk, _e, cb) => {
        lines.push(chunk.toString());
        cb();
      },
    }),
    format,
  );
  return { log, lines };
}

describe('log format', () => {
  it('readable on a terminal, JSON elsewhere; ECOMGATE_LOG_FORMAT wins either way', () => {
    assert.equal(chooseLogFormat(undefined, true), 'pretty');
    assert.equal(chooseLogFormat(undefined, false), 'json');
    assert.equal(chooseLogFormat('json', true), 'json');
    assert.equal(chooseLogFormat('pretty', false), 'pretty');
    assert.equal(readConfig({}).logFormat, undefined);
    assert.equal(readConfig({ ECOMGATE_LOG_FORMAT: '' }).logFormat, undefined);
    assert.equal(readConfig({ ECOMGATE_LOG_FORMAT: 'pretty' }).logFormat, 'pretty');
    assert.equal(readConfig({ ECOMGATE_LOG_FORMAT: 'json' }).logFormat, 'json');
    assert.throws(() => readConfig({ ECOMGATE_LOG_FORMAT: 'xml' }), /ECOMGATE_LOG_FORMAT must be one of json, pretty, got "xml"/);
  });

  it('a pretty line: time, level, message, then the fields as key=value; an error with its stack', () => {
    const { log, lines } = capture('pretty');
    log.warn({ shop: 361, reason: 'two words', nested: { a: 1 } }, 'card guard refused a request');
    log.error({ err: new TypeError('simulated fault') }, 'request failed');
    assert.equal(lines.length, 2);
    const fields = 'shop=361 reason="two words" nested={"a":1}';
    assert.ok(lines[0]!.endsWith(` WARN  card guard refused a request ${fields}\n`), lines[0]);
    assert.match(lines[0]!, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z /);
    const [first, ...stack] = lines[1]!.trimEnd().split('\n');
    assert.match(first!, / ERROR request failed err\.message="simulated fault"$/);
    assert.match(stack[0]!, /^ {4}TypeError: simulated fault$/);
    assert.ok(
      stack.slice(1).every((line) => /^ {4}\s*at /.test(line)),
      lines[1],
    );
    assert.ok(!lines.some((line) => line.trimStart().startsWith('{')), 'no JSON on a terminal');
  });

  it('card numbers, CVCs, secrets and Authorization stay out of both formats', () => {
    for (const format of ['json', 'pretty'] as const) {
      const { log, lines } = capture(format);
      const header = 'Basic ' + Buffer.from('361:shop-secret-in-a-header').toString('base64');
      log.info({ request: { credit_card: { number: PAN, verification_value: CVC } }, secret_key: 'shop-secret-in-a-body' }, 'body');
      log.info({ req: { headers: { authorization: header } } }, 'headers');
      log.info({ number: PAN, verification_value: CVC }, 'flat');
      assert.equal(lines.length, 3, format);
      for (const line of lines) {
        const leaks = [PAN, CVC, 'shop-secret', header.slice(6)].filter((secret) => line.includes(secret));
        assert.deepEqual(leaks, [], `${format}: ${line}`);
        assert.match(line, /\[redacted\]/);
      }
      if (format === 'json') for (const line of lines) assert.equal(JSON.parse(line).service, 'ecomgate');
    }
  });
});
