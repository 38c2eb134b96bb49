import { createCipheriv, createDecipheriv, createHmac, randomBytes } from 'node:crypto';
import type { Sql, Store } from '../store/db.js';
import {
  listShopSeals,
  resealCard,
  resealShop,
  resealTaskRequest,
  resealVaultSecret,
  staleCards,
  staleTaskRequests,
  staleVaultSecrets,
} from '../store/rotation.js';
import { findVaultSecret, insertVaultSecretOnce } from '../store/vaultSecrets.js';
import type { MasterKey } from './keys.js';

const HMAC_SECRET = 'hmac_key';

/**
 * IVs are cut from random bytes drawn 4 KiB at a time: a call to the system's CSPRNG costs about 12 µs
 * whatever its size, once per encryption it was a measurable share of an async submit. Each IV is still
 * fresh random bytes, never reused (the pool is replaced, not refilled in place).
 */
const IV_BYTES = 12;
let ivPool = Buffer.alloc(0);
let ivUsed = 0;
function nextIv(): Buffer {
  if (ivUsed + IV_BYTES > ivPool.length) {
    ivPool = randomBytes(4096);
    ivUsed = 0;
  }
  ivUsed += IV_BYTES;
  return ivPool.subarray(ivUsed - IV_BYTES, ivUsed);
}

/**
 * Encryption at rest (AES-256-GCM, key id in every ciphertext) and keyed hashing (card stamps, shop
 * secrets). The HMAC key is random, stored encrypted under the master key, so stamps stay stable across
 * master key rotations.
 */
export class Vault {
  private constructor(
    private readonly keys: MasterKey[],
    private readonly hmacKey: Buffer,
  ) {}

  static async open(store: Store, keys: MasterKey[]): Promise<Vault> {
    const bootstrap = new Vault(keys, Buffer.alloc(0));
    const row = await findVaultSecret(store.sql, HMAC_SECRET);
    if (row) return new Vault(keys, Buffer.from(bootstrap.decrypt(row.ciphertext), 'base64'));
    const hmacKey = randomBytes(32);
    const sealed = bootstrap.encrypt(hmacKey.toString('base64'));
    // Two processes starting at once on an empty store: the first insert wins, the other re-reads it.
    await store.write((tx) => insertVaultSecretOnce(tx, { name: HMAC_SECRET, key_id: bootstrap.currentKeyId, ciphertext: sealed }));
    return Vault.open(store, keys);
  }

  get currentKeyId(): string {
    return this.keys[0].id;
  }

  /** `<key id>.<iv>.<tag>.<ciphertext>`, base64url parts. */
  encrypt(plaintext: string): string {
    const { id, key } = this.keys[0];
    const iv = nextIv();
    const cipher = createCipheriv('aes-256-gcm', key, iv);
    const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return [id, iv.toString('base64url'), cipher.getAuthTag().toString('base64url'), body.toString('base64url')].join('.');
  }

  decrypt(sealed: string): string {
    const [id, iv, tag, body] = sealed.split('.');
    const master = this.keys.find((k) => k.id === id);
    if (!master) throw new Error(`vault: no master key with id ${id} (was ECOMGATE_MASTER_KEY rotated away too early?)`);
    const decipher = createDecipheriv('aes-256-gcm', master.key, Buffer.from(iv, 'base64url'));
    decipher.setAuthTag(Buffer.from(tag, 'base64url'));
    return Buffer.concat([decipher.update(Buffer.from(body, 'base64url')), decipher.final()]).toString('utf8');
  }

  keyIdOf(sealed: string): string {
    return sealed.slice(0, sealed.indexOf('.'));
  }

  private hmac(domain: string, value: string): string {
    return createHmac('sha256', this.hmacKey).update(domain).update('\u0000').update(value).digest('hex');
  }

  /**
   * The card's `stamp`: stable per card number within one shop, and a shop's own. Keyed over the shop id
   * too, so two shops' stamps of one number never match: a shop cannot test numbers against a stamp it
   * saw elsewhere (PCI DSS 3.5.1: hashed and truncated forms of a number must not be correlatable).
   * The domain differs from the earlier installation-wide `card-stamp`, so no new stamp equals an old one.
   */
  stamp(shopId: number, pan: string): string {
    return this.hmac('shop-card-stamp', `${shopId}\u0000${pan}`);
  }

  /**
   * What a RequestID stands for (its operation and body), kept to tell a retry from another request.
   * Keyed: the body holds the card number and CVC, and a plain hash of it could be searched by brute force.
   */
  requestHash(operation: string, body: unknown): string {
    return this.hmac('request', JSON.stringify([operation, body ?? null]));
  }

  secretHash(secret: string): string {
    return this.hmac('shop-secret', secret);
  }

  /** An unguessable token binding a customer-facing link (receipt, 3-D Secure page) to one transaction. */
  linkToken(purpose: string, uid: string): string {
    return this.hmac(`link:${purpose}`, uid).slice(0, 32);
  }

  /**
   * Re-encrypts every sealed value that is not under the current key: cards, shop credentials, vault
   * secrets and the requests of unfinished async tasks (which hold a card number and CVC until processed).
   * Works in batches of ROTATION_BATCH rows, one transaction each, so a large vault is neither read into
   * memory at once nor held in one long transaction. Each row is rewritten only if it still holds the
   * ciphertext read (a worker may finish a task meanwhile and erase its request).
   */
  async rotate(store: Store): Promise<{ cards: number; shops: number; secrets: number; tasks: number }> {
    const current = this.currentKeyId;
    const stale = (sealed: string) => this.keyIdOf(sealed) !== current;
    const reseal = (sealed: string) => this.encrypt(this.decrypt(sealed));
    const cards = await inBatches(
      store,
      (db) => staleCards(db, current, ROTATION_BATCH),
      (tx, card) => resealCard(tx, card.token, { before: card.pan_enc, after: reseal(card.pan_enc), keyId: current }),
    );
    let shops = 0;
    for (const shop of await listShopSeals(store.sql)) {
      if (!stale(shop.secret_enc) && !stale(shop.private_key_enc)) continue;
      const sealed = { secretBefore: shop.secret_enc, secretAfter: reseal(shop.secret_enc), privateKeyAfter: reseal(shop.private_key_enc) };
      await store.write((tx) => resealShop(tx, shop.id, sealed));
      shops++;
    }
    const secrets = await inBatches(
      store,
      (db) => staleVaultSecrets(db, current, ROTATION_BATCH),
      (tx, secret) => resealVaultSecret(tx, secret.name, { before: secret.ciphertext, after: reseal(secret.ciphertext), keyId: current }),
    );
    const tasks = await inBatches(
      store,
      (db) => staleTaskRequests(db, current, ROTATION_BATCH),
      (tx, task) => resealTaskRequest(tx, task.id, { before: task.request_enc, after: reseal(task.request_enc) }),
    );
    return { cards, shops, secrets, tasks };
  }
}

/** Rows re-sealed per transaction by `vault rotate`. */
const ROTATION_BATCH = 100;

/**
 * Reads a batch of stale rows, re-seals each in one transaction, and goes on until none is left; answers
 * how many rows were rewritten. A row left stale (changed under us) is read again by the next batch.
 */
async function inBatches<Row>(
  store: Store,
  staleRows: (db: Sql) => Promise<Row[]>,
  reseal: (tx: Sql, row: Row) => Promise<boolean>,
): Promise<number> {
  let count = 0;
  for (;;) {
    const rows = await staleRows(store.sql);
    if (rows.length === 0) return count;
    await store.transaction(async (tx) => {
      for (const row of rows) if (await reseal(tx, row)) count++;
    });
  }
}
