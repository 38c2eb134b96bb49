import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { mkdirSync } from 'node:fs';
import { after, before, describe } from 'node:test';
import { it } from './support/deadline.js';
import type { Browser } from 'playwright-core';
import { card, DEMO_3DS_SHOP, paymentRequest, startGateway, type TestGateway } from './support/gateway.js';
import { launchChromium, needsChromium } from './support/services.js';

/** Set to refresh the screenshots under docs/ that the README shows. */
const SCREENSHOTS = process.env.ECOMGATE_UPDATE_SCREENSHOTS ? 'docs' : undefined;

describe('3-D Secure in a real browser', needsChromium(), () => {
  let gw: TestGateway;
  let browser: Browser;
  let merchant: Server;
  let merchantUrl: string;
  const returns: URL[] = [];

  before(async () => {
    gw = await startGateway('sqlite');
    merchant = createServer((request, response) => {
      returns.push(new URL(request.url!, merchantUrl));
      response.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><title>Thank you</title><h1>Back at the shop</h1>');
    });
    await new Promise<void>((resolve) => merchant.listen(0, '127.0.0.1', resolve));
    const address = merchant.address() as { port: number };
    merchantUrl = `http://127.0.0.1:${address.port}`;
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await new Promise((resolve) => merchant.close(resolve));
    await gw.close();
  });

  async function challenge(amount: number) {
    const answer = await gw.post(
      '/transactions/payments',
      paymentRequest({
        amount,
        currency: 'EUR',
        description: 'Sneakers, size 42',
        credit_card: card('4012000000003010'),
        return_url: `${merchantUrl}/return?order=77`,
      }),
      { auth: DEMO_3DS_SHOP },
    );
    assert.equal(answer.body.transaction.status, 'incomplete');
    return answer.body.transaction as { uid: string; redirect_url: string; receipt_url: string };
  }

  for (const [button, status] of [
    ['Authenticate', 'successful'],
    ['Fail', 'failed'],
  ] as const) {
    it(`${button}: lands on return_url with uid and status=${status}`, async () => {
      const tx = await challenge(button === 'Authenticate' ? 4999 : 1250);
      const page = await browser.newPage();
      try {
        await page.goto(tx.redirect_url);
        assert.equal(await page.title(), '3-D Secure verification');
        assert.equal(await page.getByRole('heading', { level: 1 }).textContent(), 'Confirm your payment');
        if (SCREENSHOTS && button === 'Authenticate') {
          mkdirSync(SCREENSHOTS, { recursive: true });
          await page.setViewportSize({ width: 640, height: 640 });
          await page.screenshot({ path: `${SCREENSHOTS}/three-d-secure.png`, fullPage: true });
        }
        await Promise.all([page.waitForURL(`${merchantUrl}/return**`), page.getByRole('button', { name: button }).click()]);
        const landed = new URL(page.url());
        assert.equal(landed.searchParams.get('order'), '77');
        assert.equal(landed.searchParams.get('uid'), tx.uid);
        assert.equal(landed.searchParams.get('status'), status);
        assert.equal(await page.textContent('h1'), 'Back at the shop');
        const stored = await gw.get(`/transactions/${tx.uid}`, { auth: DEMO_3DS_SHOP });
        assert.equal(stored.body.transaction.status, status);
        // Back to the challenge page: it now tells the outcome and cannot be submitted again.
        await page.goto(tx.redirect_url);
        assert.equal(await page.getByRole('button', { name: 'Authenticate' }).count(), 0);
        if (status === 'successful') {
          await page.goto(tx.receipt_url);
          assert.match((await page.textContent('main')) ?? '', /49\.99 EUR/);
          if (SCREENSHOTS) await page.screenshot({ path: `${SCREENSHOTS}/receipt.png`, fullPage: true });
        }
      } finally {
        await page.close();
      }
    });
  }
});
