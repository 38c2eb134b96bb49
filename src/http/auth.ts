import { timingSafeEqual, createHash } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { ApiError, invalidCredentials } from '../domain/errors.js';
import type { Shop } from '../domain/shop.js';
import type { ShopService } from '../operator/shops.js';

declare module 'fastify' {
  interface FastifyRequest {
    shop?: Shop;
  }
}

/** HTTP Basic: user = shop id, password = secret key (spec §1). */
export async function authenticateShop(shops: ShopService, request: FastifyRequest): Promise<Shop> {
  const header = request.headers.authorization;
  if (typeof header !== 'string' || header.length > 1024 || !/^basic /i.test(header)) throw invalidCredentials();
  const decoded = Buffer.from(header.slice(6).trim(), 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon <= 0) throw invalidCredentials();
  const id = decoded.slice(0, colon);
  if (!/^\d{1,15}$/.test(id)) throw invalidCredentials();
  const shop = await shops.authenticate(Number(id), decoded.slice(colon + 1));
  if (!shop) throw invalidCredentials();
  return shop;
}

const digest = (value: string) => createHash('sha256').update(value).digest();

/** `Authorization: Bearer <ECOMGATE_ADMIN_TOKEN>`; without a configured token the admin API is closed. */
export function authenticateOperator(adminToken: string | undefined, request: FastifyRequest): void {
  const header = request.headers.authorization;
  const presented = typeof header === 'string' && /^bearer /i.test(header) ? header.slice(7).trim() : '';
  if (!adminToken || !timingSafeEqual(digest(presented), digest(adminToken))) {
    throw new ApiError(401, 'Invalid admin token.', undefined, { 'www-authenticate': 'Bearer' });
  }
}
