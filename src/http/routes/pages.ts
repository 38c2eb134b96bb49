import { timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { challengePage, outcomePage, unknownTransactionPage } from '../../pages/challenge.js';
import { receiptPage } from '../../pages/receipt.js';
import { completeChallenge } from '../../processing/threeDSecure.js';
import { findTransactionByUid } from '../../store/transactions.js';
import type { HttpServices } from '../services.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

function html(reply: FastifyReply, statusCode: number, body: string) {
  return reply
    .code(statusCode)
    .header('content-type', 'text/html; charset=utf-8')
    .header('cache-control', 'no-store')
    .header('x-frame-options', 'DENY')
    .header('content-security-policy', "default-src 'none'; style-src 'unsafe-inline'; form-action *; frame-ancestors 'none'")
    .send(body);
}

/** `return_url` with `uid` and `status` added to its query (spec §6). */
function returnTo(returnUrl: string, uid: string, status: string): string {
  const url = new URL(returnUrl);
  url.searchParams.set('uid', uid);
  url.searchParams.set('status', status);
  return url.toString();
}

/** Customer-facing pages: the 3-D Secure challenge and the receipt. No merchant credentials here. */
export async function pageRoutes(app: FastifyInstance, services: HttpServices) {
  const { ctx, shops } = services;
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: 1024 }, (_request, body, done) => {
    done(null, Object.fromEntries(new URLSearchParams(body as string)));
  });

  const load = async (uid: string) => (UUID.test(uid) ? findTransactionByUid(ctx.store.db, uid) : undefined);

  app.get<{ Params: { uid: string } }>('/process/:uid', { schema: { hide: true } }, async (request, reply) => {
    const row = await load(request.params.uid);
    if (!row) return html(reply, 404, unknownTransactionPage());
    if (row.status !== 'incomplete') return html(reply, 200, outcomePage(row));
    const shop = await shops.find(Number(row.shop_id));
    return html(reply, 200, challengePage(row, shop?.name ?? '', ctx.publicUrl));
  });

  app.post<{ Params: { uid: string }; Body: Record<string, string> | undefined }>('/process/:uid', { schema: { hide: true } }, async (request, reply) => {
    const row = await load(request.params.uid);
    const shop = row && (await shops.find(Number(row.shop_id)));
    if (!row || !shop) return html(reply, 404, unknownTransactionPage());
    const outcome = request.body?.outcome;
    if (row.status !== 'incomplete' || (outcome !== 'authenticate' && outcome !== 'fail')) return html(reply, 200, outcomePage(row));
    const finished = await completeChallenge(ctx, shop, row, outcome === 'authenticate');
    if (finished.return_url) return reply.code(303).header('location', returnTo(finished.return_url, finished.uid, finished.status)).send();
    return html(reply, 200, outcomePage(finished));
  });

  app.get<{ Params: { uid: string }; Querystring: { token?: string } }>('/receipts/:uid', { schema: { hide: true } }, async (request, reply) => {
    const row = await load(request.params.uid);
    const expected = Buffer.from(ctx.vault.linkToken('receipt', request.params.uid));
    const presented = Buffer.from(String(request.query.token ?? ''));
    const valid = presented.length === expected.length && timingSafeEqual(presented, expected);
    if (!row || !valid) return html(reply, 404, unknownTransactionPage());
    const shop = await shops.find(Number(row.shop_id));
    return html(reply, 200, receiptPage(row, shop?.name ?? ''));
  });
}
