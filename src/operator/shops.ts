import { createHash, generateKeyPairSync, randomBytes, timingSafeEqual } from 'node:crypto';
import ipaddr from 'ipaddr.js';
import type { Logger } from 'pino';
import { recordNotFound, validationError, type FieldError } from '../domain/errors.js';
import { type RiskRules, type Shop, secretKeyError } from '../domain/shop.js';
import type { Store } from '../store/db.js';
import { findShopRow, findShopVersion, insertShop, listShopRows, shopOf, shopVersion, updateShop } from '../store/shops.js';
import type { ShopTable } from '../store/schema.js';
import type { Vault } from '../vault/vault.js';

/** Shop management for the operator (CLI and admin API share these). */

export interface NewShop {
  id: number;
  secret?: string;
  name?: string;
  test?: boolean;
  threeDSecure?: boolean;
  /** The acquirer connector serving the shop, by name (default: the sandbox). */
  acquirer?: string;
  acquirerSettings?: Record<string, unknown>;
  riskRules?: RiskRules;
  /** Hosts a return_url may name; null: any. Default: [] for a live shop (listed by the operator), null for a test shop. */
  returnHosts?: string[] | null;
}

const returnHostsColumn = (hosts: string[] | null) => (hosts === null ? null : JSON.stringify(hosts));

/** A host name as a URL carries it: lower case, no port, no path; IPv6 in brackets. */
function returnHostErrors(hosts: string[] | null | undefined): FieldError[] {
  if (!hosts) return [];
  const valid = (host: string) => {
    try {
      return host.length > 0 && host.length <= 253 && new URL(`http://${host}/`).hostname === host;
    } catch {
      return false;
    }
  };
  if (hosts.length > 100 || !hosts.every(valid)) return [{ path: ['return_hosts'], message: 'must be up to 100 lower-case host names' }];
  return [];
}

/** The operator's view of a shop: never the secret key or the private key. */
export function shopView(shop: Shop) {
  return {
    id: shop.id,
    name: shop.name,
    test: shop.test,
    three_d_secure: shop.threeDSecure,
    public_key: shop.publicKey,
    acquirer: shop.acquirer,
    acquirer_settings: shop.acquirerSettings,
    risk_rules: shop.riskRules,
    return_hosts: shop.returnHosts,
    created_at: shop.createdAt,
    updated_at: shop.updatedAt,
  };
}

/** The built-in connector, serving every shop created without naming another. */
const DEFAULT_ACQUIRER = 'sandbox';

const sha256 = (value: string) => createHash('sha256').update(value).digest();

export class ShopService {
  /** Per shop: the digest of the last secret that verified, and the shop as it was then (with its version). */
  private readonly verified = new Map<number, { digest: Buffer; version: string; shop: Shop }>();

  constructor(
    private readonly store: Store,
    private readonly vault: Vault,
    private readonly now: () => Date,
    /** Connector names a shop may be given: the gateway's acquirer registry. */
    private readonly acquirers: readonly string[] = [DEFAULT_ACQUIRER],
  ) {}

  private acquirerErrors(acquirer: string | undefined): FieldError[] {
    return acquirer === undefined || this.acquirers.includes(acquirer) ? [] : [{ path: ['acquirer'], message: 'is not a known connector' }];
  }

  /** Creates a shop; answers the shop and its secret (shown once, to the operator who created it). */
  async create(input: NewShop): Promise<{ shop: Shop; secret: string }> {
    const errors: FieldError[] = [];
    if (!Number.isSafeInteger(input.id) || input.id <= 0) errors.push({ path: ['id'], message: 'must be a positive integer' });
    const secretError = input.secret === undefined ? undefined : secretKeyError(input.secret);
    if (secretError) errors.push(secretError);
    errors.push(...returnHostErrors(input.returnHosts), ...this.acquirerErrors(input.acquirer));
    if (errors.length) throw validationError(errors);
    const secret = input.secret ?? randomBytes(32).toString('hex');
    const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const now = this.now().toISOString();
    const row: ShopTable = {
      id: input.id,
      name: input.name ?? `Shop ${input.id}`,
      secret_hash: this.vault.secretHash(secret),
      secret_enc: this.vault.encrypt(secret),
      test: input.test ? 1 : 0,
      three_d_secure: input.threeDSecure ? 1 : 0,
      public_key: publicKey.export({ type: 'spki', format: 'der' }).toString('base64'),
      private_key_enc: this.vault.encrypt(privateKey.export({ type: 'pkcs8', format: 'pem' }).toString()),
      acquirer: input.acquirer ?? DEFAULT_ACQUIRER,
      acquirer_settings: JSON.stringify(input.acquirerSettings ?? {}),
      risk_rules: JSON.stringify(input.riskRules ?? {}),
      return_hosts: returnHostsColumn(input.returnHosts !== undefined ? input.returnHosts : input.test ? null : []),
      created_at: now,
      updated_at: now,
    };
    if (!(await this.store.transaction((tx) => insertShop(tx, row)))) {
      throw validationError([{ path: ['id'], message: 'has already been taken' }]);
    }
    return { shop: shopOf(row), secret };
  }

  async find(id: number): Promise<Shop | undefined> {
    if (!Number.isSafeInteger(id)) return undefined;
    const row = await findShopRow(this.store.sql, id);
    return row && shopOf(row);
  }

  async list(): Promise<Shop[]> {
    return (await listShopRows(this.store)).map(shopOf);
  }

  /**
   * Basic-auth check: the secret's keyed hash compared in constant time. A secret that verified is
   * remembered as a digest (compared in constant time too): while the shop's changeable columns (secret
   * hash, settings, update time) are unchanged, a request costs one narrow read instead of the whole shop,
   * the parse of its settings and an HMAC. A rotation or update by any process shows at once.
   */
  async authenticate(id: number, secret: string): Promise<Shop | undefined> {
    if (!Number.isSafeInteger(id) || id <= 0) return undefined;
    const digest = sha256(secret);
    const remembered = this.verified.get(id);
    if (remembered && timingSafeEqual(digest, remembered.digest)) {
      if ((await findShopVersion(this.store.sql, id)) === remembered.version) return remembered.shop;
    }
    const row = await findShopRow(this.store.sql, id);
    const presented = Buffer.from(this.vault.secretHash(secret), 'hex');
    // Hash even for an unknown shop so both paths cost the same.
    const expected = Buffer.from(row?.secret_hash ?? '0'.repeat(64), 'hex');
    if (!row || !timingSafeEqual(presented, expected)) return undefined;
    const shop = shopOf(row);
    this.verified.set(id, { digest, version: shopVersion(row), shop });
    return shop;
  }

  async rotateSecret(id: number, secret?: string): Promise<{ shop: Shop; secret: string }> {
    const secretError = secret === undefined ? undefined : secretKeyError(secret);
    if (secretError) throw validationError([secretError]);
    const next = secret ?? randomBytes(32).toString('hex');
    const row = await this.store.transaction((tx) =>
      updateShop(tx, id, {
        secret_hash: this.vault.secretHash(next),
        secret_enc: this.vault.encrypt(next),
        updated_at: this.now().toISOString(),
      }),
    );
    if (!row) throw recordNotFound();
    return { shop: shopOf(row), secret: next };
  }

  async update(
    id: number,
    changes: {
      name?: string;
      test?: boolean;
      threeDSecure?: boolean;
      acquirer?: string;
      acquirerSettings?: Record<string, unknown>;
      riskRules?: RiskRules;
      returnHosts?: string[] | null;
    },
  ): Promise<Shop> {
    const errors = [...returnHostErrors(changes.returnHosts), ...this.acquirerErrors(changes.acquirer)];
    if (errors.length) throw validationError(errors);
    const row = await this.store.transaction((tx) =>
      updateShop(tx, id, {
        ...(changes.name !== undefined ? { name: changes.name } : {}),
        ...(changes.test !== undefined ? { test: changes.test ? 1 : 0 } : {}),
        ...(changes.threeDSecure !== undefined ? { three_d_secure: changes.threeDSecure ? 1 : 0 } : {}),
        ...(changes.acquirer !== undefined ? { acquirer: changes.acquirer } : {}),
        ...(changes.acquirerSettings !== undefined ? { acquirer_settings: JSON.stringify(changes.acquirerSettings) } : {}),
        ...(changes.riskRules !== undefined ? { risk_rules: JSON.stringify(changes.riskRules) } : {}),
        ...(changes.returnHosts !== undefined ? { return_hosts: returnHostsColumn(changes.returnHosts) } : {}),
        updated_at: this.now().toISOString(),
      }),
    );
    if (!row) throw recordNotFound();
    return shopOf(row);
  }

  /** The shop's secret key in clear, for signing its webhooks' Basic auth. */
  async secretOf(id: number): Promise<string | undefined> {
    const row = await findShopRow(this.store.sql, id);
    return row && this.vault.decrypt(row.secret_enc);
  }
}

/** The public demo shops of spec §7 (embedded default only). */
export const demoShops: NewShop[] = [
  { id: 361, secret: 'b8647b68898b084b836474ed8d61ffe117c9a01168d867f24953b776ddcb134d', name: 'Demo shop 361', test: true, threeDSecure: false },
  {
    id: 362,
    secret: '9ad8ad735945919845b9a1996af72d886ab43d3375502256dbf8dd16bca59a4e',
    name: 'Demo shop 362 (3-D Secure)',
    test: true,
    threeDSecure: true,
  },
];

/**
 * The embedded default's demo shops, created when missing and announced, since their credentials are
 * public. Several processes starting on one database at once: another may create one between find and
 * create, which is not a failure.
 */
export async function seedDemoShops(shops: ShopService, log: Logger): Promise<void> {
  for (const demo of demoShops) {
    if (!(await shops.find(demo.id)))
      await shops.create(demo).catch(async (err) => {
        if (!(await shops.find(demo.id))) throw err;
      });
  }
  log.warn(
    { shops: demoShops.map((s) => s.id) },
    'demo shops 361 and 362 are enabled with their public credentials (ECOMGATE_DEMO_SHOPS=0 turns them off)',
  );
}

/** `localhost`, 127.0.0.0/8 or ::1: only this machine can reach the server. */
function isLoopbackHost(host: string): boolean {
  const literal = host.replace(/^\[|\]$/g, '');
  return literal === 'localhost' || (ipaddr.isValid(literal) && ipaddr.process(literal).range() === 'loopback');
}

/** Public credentials on an address others can reach: said once the server listens there. */
export function warnIfDemoShopsExposed(host: string, log: Logger): void {
  if (isLoopbackHost(host)) return;
  log.warn(
    { host },
    'demo shops 361 and 362, whose credentials are public, are served on a non-loopback address: anyone who reaches it can use them (ECOMGATE_DEMO_SHOPS=0)',
  );
}
