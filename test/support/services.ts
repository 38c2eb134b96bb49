import { existsSync } from 'node:fs';
import { connect } from 'node:net';
import { type Browser, chromium } from 'playwright-core';
import { POSTGRES_URL, testStores } from './gateway.js';

/**
 * The services some tests need beyond SQLite. Locally a missing one skips those tests with one line
 * saying why; under CI (`CI=true`, where `.ci/run` provides both) a missing one fails the file instead.
 */

export const REDIS_URL = process.env.ECOMGATE_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

const services = {
  postgres: { name: 'PostgreSQL', url: POSTGRES_URL, setting: 'ECOMGATE_TEST_POSTGRES_URL', defaultPort: 5432 },
  redis: { name: 'Redis', url: REDIS_URL, setting: 'ECOMGATE_TEST_REDIS_URL', defaultPort: 6379 },
};

function reachable(url: string, defaultPort: number): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = connect({ host: hostname || '127.0.0.1', port: Number(port || defaultPort) });
    socket.setTimeout(2000);
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
    socket.once('timeout', () => done(false));
  });
}

/** Options for `describe`: run when the service answers, else skip (or, under CI, throw). */
export async function needs(service: keyof typeof services): Promise<{ skip?: string }> {
  const { name, url, setting, defaultPort } = services[service];
  if (service === 'postgres' && !testStores().includes('postgres')) return { skip: 'PostgreSQL left out by ECOMGATE_TEST_STORES' };
  if (await reachable(url, defaultPort)) return {};
  const where = `${name} is not reachable at ${new URL(url).host} (${setting})`;
  if (process.env.CI === 'true') throw new Error(`${where}: CI must provide it`);
  return { skip: where };
}

/** Debian's Chromium for the browser tests (`.ci/run` installs it; playwright-core drives it and downloads nothing). */
export const CHROMIUM = process.env.ECOMGATE_CHROMIUM ?? '/usr/bin/chromium';

/** Options for a browser test's `describe`: skip with one line when Chromium is missing (under CI, throw). */
export function needsChromium(): { skip?: string } {
  if (existsSync(CHROMIUM)) return {};
  const where = `Chromium is not installed at ${CHROMIUM} (ECOMGATE_CHROMIUM names another)`;
  if (process.env.CI === 'true') throw new Error(`${where}: CI must provide it`);
  return { skip: where };
}

/** Chromium, headless, as every browser test runs it. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}
