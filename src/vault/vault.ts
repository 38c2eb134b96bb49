import { createCipheriv, createDecipheriv, createHmac, randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Store } from '../store/db.js';
import type { Database } from '../store/schema.js';
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
    const row = await store.db.selectFrom('vault_secrets').selectAll().where('name', '=', HMAC_SECRET).executeTakeFirst();
    if (row) return new Vault(keys, Buffer.from(bootstrap.decrypt(row.ciphertext), 'base64'));
    const hmacKey = randomBytes(32);
    const sealed = bootstrap.encrypt(hmacKey.toString('base64'));
    // Two processes starting at once on an empty store: the first insert wins, the other re-reads it.
    await store.db
      .insertInto('vault_secrets')
      .values({ name: HMAC_SECRET, key_id: bootstrap.currentKeyId, ciphertext: sealed })
      .onConflict((oc) => oc.column('name').doNothing())
      .execute();
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
    const cards = await inBatches(store, (db) => db.selectFrom('cards').select(['token', 'pan_enc']).where('key_id', '!=', current).limit(ROTATION_BATCH).execute(), async (trx, card) => {
      const updated = await trx
        .updateTable('cards')
        .set({ pan_enc: reseal(card.pan_enc), key_id: current })
        .where('token', '=', card.token)
        .where('pan_enc', '=', card.pan_enc)
        .executeTakeFirst();
      return Number(updated.numUpdatedRows) === 1;
    });
    let shops = 0;
    // Few rows, read once: a shop's two sealed values have no key id column to select stale ones by.
    for (const shop of await store.db.selectFrom('shops').select(['id', 'secret_enc', 'private_key_enc']).execute()) {
      if (!stale(shop.secret_enc) && !stale(shop.private_key_enc)) continue;
      await store.db
        .updateTable('shops')
        .set({ secret_enc: reseal(shop.secret_enc), private_key_enc: reseal(shop.private_key_enc) })
        .where('id', '=', shop.id)
        .where('secret_enc', '=', shop.secret_enc)
        .execute();
      shops++;
    }
    const secrets = await inBatches(store, (db) => db.selectFrom('vault_secrets').selectAll().where('key_id', '!=', current).limit(ROTATION_BATCH).execute(), async (trx, secret) => {
      const updated = await trx
        .updateTable('vault_secrets')
        .set({ ciphertext: reseal(secret.ciphertext), key_id: current })
        .where('name', '=', secret.name)
        .where('ciphertext', '=', secret.ciphertext)
        .executeTakeFirst();
      return Number(updated.numUpdatedRows) === 1;
    });
    // A sealed value starts with its key id (8 hex digits: nothing a LIKE pattern would read as a wildcard).
    const tasks = await inBatches(
      store,
      (db) =>
        db
          .selectFrom('async_tasks')
          .select(['id', 'request_enc'])
          .where('request_enc', 'is not', null)
          .where('request_enc', 'not like', `${current}.%`)
          .limit(ROTATION_BATCH)
          .execute(),
      async (trx, task) => {
        const updated = await trx
          .updateTable('async_tasks')
          .set({ request_enc: reseal(task.request_enc!) })
          .where('id', '=', task.id)
          .where('request_enc', '=', task.request_enc)
          .executeTakeFirst();
        return Number(updated.numUpdatedRows) === 1;
      },
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
  staleRows: (db: Kysely<Database>) => Promise<Row[]>,
  reseal: (trx: Kysely<Database>, row: Row) => Promise<boolean>,
): Promise<number> {
  let count = 0;
  for (;;) {
    const rows = await staleRows(store.db);
    if (rows.length === 0) return count;
    await store.transaction(async ({ db: trx }) => {
      for (const row of rows) if (await reseal(trx, row)) count++;
    });
  }
}
