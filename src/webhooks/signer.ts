import { createPrivateKey, type KeyObject, sign } from 'node:crypto';
import { findShopRow } from '../store/shops.js';
import type { Sql } from '../store/sql.js';
import type { Vault } from '../vault/vault.js';

/** `Content-Signature`: base64 of RSA-SHA256 (PKCS#1 v1.5, Node's default for RSA keys) over the exact body bytes. */
export function contentSignature(body: Buffer, privateKey: KeyObject): string {
  return sign('sha256', body, privateKey).toString('base64');
}

/** What a shop's webhooks are sent with: its Basic credentials and its signing key. */
export interface ShopWebhookKeys {
  authorization: string;
  privateKey: KeyObject;
}

const CACHE_MS = 60_000;

/**
 * Shop credentials for webhooks, unsealed once per shop per minute rather than per delivery (a vault
 * decrypt and a PEM parse for every attempt would dominate a busy worker). Brief on purpose: a rotated
 * secret key is used within a minute. The entry holds the load in progress, so a burst of deliveries for
 * one shop unseals it once.
 */
export class ShopWebhookKeyring {
  private readonly entries = new Map<number, { until: number; keys: Promise<ShopWebhookKeys | undefined> }>();

  constructor(
    private readonly db: Sql,
    private readonly vault: Vault,
    private readonly now: () => Date,
  ) {}

  /** Undefined when the shop no longer exists. */
  keysOf(shopId: number): Promise<ShopWebhookKeys | undefined> {
    const at = this.now().getTime();
    const cached = this.entries.get(shopId);
    if (cached && cached.until > at) return cached.keys;
    for (const [id, entry] of this.entries) if (entry.until <= at) this.entries.delete(id);
    const keys = this.load(shopId);
    this.entries.set(shopId, { until: at + CACHE_MS, keys });
    // A failed load (store unreachable) is not remembered: the next delivery tries again.
    keys.catch(() => this.entries.get(shopId)?.keys === keys && this.entries.delete(shopId));
    return keys;
  }

  private async load(shopId: number): Promise<ShopWebhookKeys | undefined> {
    const row = await findShopRow(this.db, shopId);
    if (!row) return undefined;
    const secret = this.vault.decrypt(row.secret_enc);
    return {
      authorization: 'Basic ' + Buffer.from(`${row.id}:${secret}`).toString('base64'),
      privateKey: createPrivateKey(this.vault.decrypt(row.private_key_enc)),
    };
  }
}
