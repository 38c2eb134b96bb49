import { timingSafeEqual, createHash } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { ApiError, invalidCredentials } from '../domain/errors.js';
import { parseShopId, type Shop } from '../domain/shop.js';
import type { ShopService } from '../operator/shops.js';
import type { AuthThrottle } from '../limits/authThrottle.js';

declare module 'fastify' {
  interface FastifyRequest {
    shop?: Shop;
  }
}

/** The shop id and secret of an `Authorization: Basic` header, as far as they are well-formed. */
function basicCredentials(header: string): { shopId?: number; secret?: string } {
  if (header.length > 1024 || !/^basic /i.test(header)) return {};
  const decoded = Buffer.from(header.slice(6).trim(), 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon <= 0) return {};
  return { shopId: parseShopId(decoded.slice(0, colon)), secret: decoded.slice(colon + 1) };
}

/**
 * HTTP Basic: user = shop id, password = secret key (spec §1). Credentials that were presented and fail
 * count towards the failure throttle (authThrottle.ts); a request without any is simply 401.
 */
export async function authenticateShop(shops: ShopService, throttle: AuthThrottle, request: FastifyRequest): Promise<Shop> {
  const header = request.headers.authorization;
  if (typeof header !== 'string') throw invalidCredentials();
  throttle.checkAddress(request.ip);
  const { shopId, secret } = basicCredentials(header);
  const shop = shopId !== undefined && secret !== undefined ? await shops.authenticate(shopId, secret) : undefined;
  if (!shop) throw await throttle.failed(request.ip, shopId);
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
