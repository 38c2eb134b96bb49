import { timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { returnUrlWithOutcome } from '../../domain/shop.js';
import { challengePage, outcomePage, refusedPage, unknownTransactionPage } from '../../pages/challenge.js';
import { receiptPage } from '../../pages/receipt.js';
import { expireIfDue } from '../../processing/expiry.js';
import { completeChallenge, transactionOfPage } from '../../processing/threeDSecure.js';
import { PAGE_FORM_LIMIT } from '../limits.js';
import type { HttpServices } from '../services.js';

/**
 * A customer-facing page with its headers. Forms may post to the gateway itself and, for the challenge,
 * to the origin of the merchant's `return_url`: browsers apply `form-action` to the redirect after the
 * submit too. `same-origin` referrers let the page's own form carry its Origin (checked on submit), and
 * give the merchant no URL of ours.
 */
function html(reply: FastifyReply, statusCode: number, body: string, returnUrl?: string | null) {
  const formTargets = ["'self'", ...(returnUrl ? [new URL(returnUrl).origin] : [])].join(' ');
  return reply
    .code(statusCode)
    .header('content-type', 'text/html; charset=utf-8')
    .header('cache-control', 'no-store')
    .header('x-frame-options', 'DENY')
    .header('referrer-policy', 'same-origin')
    .header(
      'content-security-policy',
      `default-src 'none'; style-src 'unsafe-inline'; form-action ${formTargets}; base-uri 'none'; frame-ancestors 'none'`,
    )
    .send(body);
}

function sameText(presented: unknown, expected: string): boolean {
  const a = Buffer.from(typeof presented === 'string' ? presented : '');
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Customer-facing pages: the 3-D Secure challenge and the receipt. No merchant credentials here. */
export async function pageRoutes(app: FastifyInstance, services: HttpServices) {
  const { ctx, shops } = services;
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_request, body, done) => {
    done(null, Object.fromEntries(new URLSearchParams(body as string)));
  });

  const load = (uid: string) => transactionOfPage(ctx, uid);
  const formToken = (uid: string) => ctx.vault.linkToken('challenge-form', uid);
  /**
   * CSRF: the submit must come from the challenge page. A browser names the page's origin in `Origin`
   * (a foreign or opaque one is refused); the token, handed out only in the challenge page, covers
   * clients that send no Origin.
   */
  const fromChallengePage = (request: FastifyRequest<{ Params: { uid: string }; Body: Record<string, string> | undefined }>) => {
    const origin = request.headers.origin;
    if (origin !== undefined && origin !== new URL(ctx.publicUrl).origin) return false;
    return sameText(request.body?.token, formToken(request.params.uid));
  };

  // Only a challenge waiting for its customer has a page: any other transaction's uid (a refund, a
  // finished payment) tells nothing about it here.
  app.get<{ Params: { uid: string } }>('/process/:uid', { schema: { hide: true } }, async (request, reply) => {
    const found = await load(request.params.uid);
    if (found?.status !== 'incomplete') return html(reply, 404, unknownTransactionPage());
    const row = await expireIfDue(ctx, found);
    if (row.status !== 'incomplete') return html(reply, 200, outcomePage(row));
    const shop = await shops.find(Number(row.shop_id));
    return html(reply, 200, challengePage(row, shop?.name ?? '', formToken(row.uid), ctx.publicUrl), row.return_url);
  });

  app.post<{ Params: { uid: string }; Body: Record<string, string> | undefined }>(
    '/process/:uid',
    { schema: { hide: true }, bodyLimit: PAGE_FORM_LIMIT },
    async (request, reply) => {
      const found = await load(request.params.uid);
      const shop = found && (await shops.find(Number(found.shop_id)));
      if (!found || !shop) return html(reply, 404, unknownTransactionPage());
      if (!fromChallengePage(request)) return html(reply, 403, refusedPage());
      const row = await expireIfDue(ctx, found);
      const outcome = request.body?.outcome;
      if (row.status !== 'incomplete' || (outcome !== 'authenticate' && outcome !== 'fail')) return html(reply, 200, outcomePage(row));
      const { transaction: finished } = await completeChallenge(ctx, shop, row, outcome === 'authenticate');
      if (finished.return_url)
        return reply
          .code(303)
          .header('location', returnUrlWithOutcome(finished.return_url, finished.uid, finished.status))
          .send();
      return html(reply, 200, outcomePage(finished));
    },
  );

  app.get<{ Params: { uid: string }; Querystring: { token?: string } }>('/receipts/:uid', { schema: { hide: true } }, async (request, reply) => {
    const row = await load(request.params.uid);
    const valid = sameText(request.query.token, ctx.vault.linkToken('receipt', request.params.uid));
    if (!row || !valid) return html(reply, 404, unknownTransactionPage());
    const shop = await shops.find(Number(row.shop_id));
    return html(reply, 200, receiptPage(row, shop?.name ?? ''));
  });
}
