import { type ColumnDefinitionBuilder, type Kysely, type Migration, type MigrationProvider, Migrator, sql } from 'kysely';
import type { Dialect } from './sql.js';

/**
 * A migration is frozen once released: it runs on stores of any later version, so it must not call live
 * code that may change meaning. Values it needs are copied here as they were at its version.
 */

/** `host[:port]` of a notification URL as 0003_webhook_attempts derived it (the per-host cap's unit then). */
function deliveryHostAt0003(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return '';
  }
}

/**
 * Schema changes, in order. Written with Kysely's schema builder so the same migration runs on SQLite and
 * PostgreSQL; `bigint` holds minor units (up to 10^15) on both.
 */
const migrationsFor = (dialect: Dialect): Record<string, Migration> => {
  const serial = (c: ColumnDefinitionBuilder) =>
    dialect === 'sqlite' ? c.primaryKey().autoIncrement() : c.primaryKey().generatedByDefaultAsIdentity();
  return {
    '0001_core': {
      async up(db: Kysely<any>) {
        await db.schema
          .createTable('shops')
          .addColumn('id', 'bigint', (c) => c.primaryKey())
          .addColumn('name', 'text', (c) => c.notNull())
          .addColumn('secret_hash', 'text', (c) => c.notNull())
          .addColumn('secret_enc', 'text', (c) => c.notNull())
          .addColumn('test', 'integer', (c) => c.notNull())
          .addColumn('three_d_secure', 'integer', (c) => c.notNull())
          .addColumn('public_key', 'text', (c) => c.notNull())
          .addColumn('private_key_enc', 'text', (c) => c.notNull())
          .addColumn('acquirer', 'text', (c) => c.notNull())
          .addColumn('acquirer_settings', 'text', (c) => c.notNull())
          .addColumn('risk_rules', 'text', (c) => c.notNull())
          .addColumn('created_at', 'text', (c) => c.notNull())
          .addColumn('updated_at', 'text', (c) => c.notNull())
          .execute();

        await db.schema
          .createTable('cards')
          .addColumn('token', 'text', (c) => c.primaryKey())
          .addColumn('shop_id', 'bigint', (c) => c.notNull())
          .addColumn('pan_enc', 'text', (c) => c.notNull())
          .addColumn('key_id', 'text', (c) => c.notNull())
          .addColumn('stamp', 'text', (c) => c.notNull())
          .addColumn('brand', 'text', (c) => c.notNull())
          .addColumn('first_1', 'text', (c) => c.notNull())
          .addColumn('last_4', 'text', (c) => c.notNull())
          .addColumn('bin', 'text', (c) => c.notNull())
          .addColumn('bin_8', 'text', (c) => c.notNull())
          .addColumn('holder', 'text')
          .addColumn('exp_month', 'integer', (c) => c.notNull())
          .addColumn('exp_year', 'integer', (c) => c.notNull())
          .addColumn('created_at', 'text', (c) => c.notNull())
          .addColumn('updated_at', 'text', (c) => c.notNull())
          .execute();
        await db.schema.createIndex('cards_key_id').on('cards').column('key_id').execute();
        await db.schema.createIndex('cards_shop_stamp').unique().on('cards').columns(['shop_id', 'stamp']).execute();

        let transactions = db.schema
          .createTable('transactions')
          .addColumn('uid', 'text', (c) => c.primaryKey())
          .addColumn('shop_id', 'bigint', (c) => c.notNull())
          .addColumn('type', 'text', (c) => c.notNull())
          .addColumn('status', 'text', (c) => c.notNull())
          .addColumn('amount', 'bigint', (c) => c.notNull())
          .addColumn('currency', 'text', (c) => c.notNull());
        for (const column of [
          'description',
          'tracking_id',
          'language',
          'parent_uid',
          'reason',
          'message',
          'code',
          'friendly_message',
          'card_token',
          'card_stamp',
          'credit_card',
          'notification_url',
          'return_url',
          'customer',
          'billing_address',
          'additional_data',
          'extra',
          'acquirer_response',
          'three_d_secure',
          'be_protected',
          'avs_cvc',
        ]) {
          transactions = transactions.addColumn(column, 'text');
        }
        await transactions
          .addColumn('test', 'integer', (c) => c.notNull())
          .addColumn('acquirer_ref', 'text', (c) => c.notNull().unique())
          .addColumn('child_amount', 'bigint', (c) => c.notNull().defaultTo(0))
          .addColumn('reserved_amount', 'bigint', (c) => c.notNull().defaultTo(0))
          .addColumn('voided', 'integer', (c) => c.notNull().defaultTo(0))
          .addColumn('next_inquiry_at', 'text')
          .addColumn('inquiry_attempts', 'integer', (c) => c.notNull().defaultTo(0))
          .addColumn('created_at', 'text', (c) => c.notNull())
          .addColumn('updated_at', 'text', (c) => c.notNull())
          .addColumn('paid_at', 'text')
          .addColumn('expired_at', 'text')
          .addColumn('closed_at', 'text')
          .addColumn('settled_at', 'text')
          .execute();
        await db.schema.createIndex('transactions_tracking').on('transactions').columns(['shop_id', 'tracking_id', 'created_at']).execute();
        await db.schema.createIndex('transactions_stamp').on('transactions').columns(['shop_id', 'card_stamp', 'created_at']).execute();
        await db.schema.createIndex('transactions_parent').on('transactions').columns(['parent_uid', 'created_at']).execute();
        await db.schema.createIndex('transactions_in_doubt').on('transactions').columns(['status', 'next_inquiry_at']).execute();

        await db.schema
          .createTable('ledger_entries')
          .addColumn('id', 'integer', serial)
          .addColumn('shop_id', 'bigint', (c) => c.notNull())
          .addColumn('transaction_uid', 'text', (c) => c.notNull().unique())
          .addColumn('currency', 'text', (c) => c.notNull())
          .addColumn('amount', 'bigint', (c) => c.notNull())
          .addColumn('created_at', 'text', (c) => c.notNull())
          .execute();
        await db.schema.createIndex('ledger_shop').on('ledger_entries').columns(['shop_id', 'currency']).execute();

        await db.schema
          .createTable('idempotency_keys')
          .addColumn('shop_id', 'bigint', (c) => c.notNull())
          .addColumn('key', 'text', (c) => c.notNull())
          .addColumn('body_hash', 'text', (c) => c.notNull())
          .addColumn('transaction_uid', 'text')
          .addColumn('status_code', 'integer')
          .addColumn('response', 'text')
          .addColumn('created_at', 'text', (c) => c.notNull())
          .addPrimaryKeyConstraint('idempotency_keys_pk', ['shop_id', 'key'])
          .execute();

        await db.schema
          .createTable('webhook_deliveries')
          .addColumn('id', 'integer', serial)
          .addColumn('shop_id', 'bigint', (c) => c.notNull())
          .addColumn('transaction_uid', 'text', (c) => c.notNull())
          .addColumn('url', 'text', (c) => c.notNull())
          .addColumn('payload', 'text', (c) => c.notNull())
          .addColumn('state', 'text', (c) => c.notNull())
          .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
          .addColumn('next_attempt_at', 'text', (c) => c.notNull())
          .addColumn('created_at', 'text', (c) => c.notNull())
          .execute();
        await db.schema.createIndex('webhook_due').on('webhook_deliveries').columns(['state', 'next_attempt_at']).execute();

        await db.schema
          .createTable('vault_secrets')
          .addColumn('name', 'text', (c) => c.primaryKey())
          .addColumn('key_id', 'text', (c) => c.notNull())
          .addColumn('ciphertext', 'text', (c) => c.notNull())
          .execute();

        await db.schema
          .createTable('sandbox_operations')
          .addColumn('reference', 'text', (c) => c.primaryKey())
          .addColumn('shop_id', 'bigint', (c) => c.notNull())
          .addColumn('kind', 'text', (c) => c.notNull())
          .addColumn('amount', 'bigint', (c) => c.notNull())
          .addColumn('currency', 'text', (c) => c.notNull())
          .addColumn('approved', 'integer', (c) => c.notNull())
          .addColumn('response', 'text', (c) => c.notNull())
          .addColumn('settle_at', 'text', (c) => c.notNull())
          .addColumn('created_at', 'text', (c) => c.notNull())
          .execute();

        await db.schema
          .createTable('sandbox_accounts')
          .addColumn('shop_id', 'bigint', (c) => c.notNull())
          .addColumn('currency', 'text', (c) => c.notNull())
          .addColumn('amount', 'bigint', (c) => c.notNull())
          .addPrimaryKeyConstraint('sandbox_accounts_pk', ['shop_id', 'currency'])
          .execute();
      },
    },
    '0002_async_tasks': {
      async up(db: Kysely<any>) {
        await db.schema
          .createTable('async_tasks')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('shop_id', 'bigint', (c) => c.notNull())
          .addColumn('operation', 'text', (c) => c.notNull())
          .addColumn('request_enc', 'text')
          .addColumn('idempotency_key', 'text', (c) => c.notNull())
          .addColumn('state', 'text', (c) => c.notNull())
          .addColumn('lease_owner', 'text')
          .addColumn('lease_expires_at', 'text')
          .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
          .addColumn('status_code', 'integer')
          .addColumn('response', 'text')
          .addColumn('created_at', 'text', (c) => c.notNull())
          .addColumn('started_at', 'text')
          .addColumn('completed_at', 'text')
          .execute();
        // Claims scan unfinished tasks oldest first; the sweeper scans finished ones by age.
        await db.schema.createIndex('async_tasks_claim').on('async_tasks').columns(['state', 'created_at']).execute();
        // A retried submit with the same RequestID finds its first task instead of queuing a second.
        await db.schema.createIndex('async_tasks_key').unique().on('async_tasks').columns(['shop_id', 'idempotency_key']).execute();
      },
    },
    '0003_webhook_attempts': {
      async up(db: Kysely<any>) {
        // SQLite adds one column per statement.
        for (const column of ['host', 'lease_owner', 'lease_expires_at', 'delivered_at']) {
          await db.schema.alterTable('webhook_deliveries').addColumn(column, 'text').execute();
        }
        // Deliveries queued before this migration get their host, or the per-host cap of the claim skips them.
        const queued = await db.selectFrom('webhook_deliveries').select(['id', 'url']).execute();
        for (const row of queued) {
          await db
            .updateTable('webhook_deliveries')
            .set({ host: deliveryHostAt0003(row.url) })
            .where('id', '=', row.id)
            .execute();
        }
        await db.schema.createIndex('webhook_deliveries_transaction').on('webhook_deliveries').columns(['transaction_uid', 'id']).execute();
        await db.schema
          .createTable('webhook_attempts')
          .addColumn('delivery_id', 'integer', (c) => c.notNull())
          .addColumn('attempt', 'integer', (c) => c.notNull())
          .addColumn('attempted_at', 'text', (c) => c.notNull())
          .addColumn('status_code', 'integer')
          .addColumn('latency_ms', 'integer', (c) => c.notNull())
          .addColumn('error', 'text')
          .addColumn('request_id', 'text', (c) => c.notNull())
          .addPrimaryKeyConstraint('webhook_attempts_pk', ['delivery_id', 'attempt'])
          .execute();
      },
    },
    '0004_idempotency_claim_token': {
      async up(db: Kysely<any>) {
        // Fences a claim: only the attempt holding the current token may link a transaction to the key.
        await db.schema.alterTable('idempotency_keys').addColumn('claim_token', 'text').execute();
      },
    },
    '0005_rate_limits': {
      async up(db: Kysely<any>) {
        // The shared per-shop request counter (one row per shop and one-second window; see docs/scale-out.md).
        await db.schema
          .createTable('rate_limits')
          .addColumn('shop_id', 'bigint', (c) => c.notNull())
          .addColumn('window_start', 'bigint', (c) => c.notNull())
          .addColumn('count', 'integer', (c) => c.notNull())
          .addPrimaryKeyConstraint('rate_limits_pk', ['shop_id', 'window_start'])
          .execute();
      },
    },
    '0006_webhook_retention': {
      async up(db: Kysely<any>) {
        // The retention sweeper finds finished deliveries by state and age.
        await db.schema.createIndex('webhook_finished').on('webhook_deliveries').columns(['state', 'created_at']).execute();
      },
    },
    '0007_async_request_hash': {
      async up(db: Kysely<any>) {
        // A retried submit with the same RequestID but another body is refused (spec §2.5), as a sync one is.
        await db.schema.alterTable('async_tasks').addColumn('request_hash', 'text').execute();
      },
    },
    '0008_card_stamps_per_shop': {
      async up(db: Kysely<any>) {
        // Stamps become a shop's own (Vault.stamp). Stored cards keep their installation-wide stamp here
        // until the vault re-stamps them at start (src/vault/restamp.ts): a migration has no vault key.
        await db.schema.alterTable('cards').addColumn('legacy_stamp', 'text').execute();
        await db
          .updateTable('cards')
          .set({ legacy_stamp: sql.ref('stamp') })
          .execute();
        await db.schema.createIndex('cards_legacy_stamp').on('cards').column('legacy_stamp').execute();
        // The card guard counts a shop's cards showing the same digits, recently sent as a number.
        await db.schema.createIndex('cards_shop_shown').on('cards').columns(['shop_id', 'bin_8', 'last_4', 'updated_at']).execute();
        await db.schema
          .createTable('shop_alerts')
          .addColumn('id', 'integer', serial)
          .addColumn('shop_id', 'bigint', (c) => c.notNull())
          .addColumn('kind', 'text', (c) => c.notNull())
          .addColumn('refused', 'integer', (c) => c.notNull())
          .addColumn('first_at', 'text', (c) => c.notNull())
          .addColumn('last_at', 'text', (c) => c.notNull())
          .execute();
        await db.schema.createIndex('shop_alerts_recent').on('shop_alerts').columns(['shop_id', 'kind', 'last_at']).execute();
      },
    },
    '0009_renotify_deliveries': {
      async up(db: Kysely<any>) {
        // Renotify deliveries are capped per transaction (processing/renotify.ts): mark them apart from status webhooks.
        await db.schema
          .alterTable('webhook_deliveries')
          .addColumn('renotify', 'integer', (c) => c.notNull().defaultTo(0))
          .execute();
      },
    },
    '0010_shop_return_hosts': {
      async up(db: Kysely<any>) {
        // The hosts a shop's return_url may lead to, as a JSON array; null: any host. Shops that exist
        // already keep any host (an upgrade must not break their checkouts); new live shops start with [].
        await db.schema.alterTable('shops').addColumn('return_hosts', 'text').execute();
      },
    },
    '0011_auth_failures': {
      async up(db: Kysely<any>) {
        // Failed shop authentications per subject ("address:<ip>", "shop:<id>") and window, shared by every
        // process on PostgreSQL (src/limits/authThrottle.ts).
        await db.schema
          .createTable('auth_failures')
          .addColumn('subject', 'text', (c) => c.notNull())
          .addColumn('window_start', 'bigint', (c) => c.notNull())
          .addColumn('count', 'integer', (c) => c.notNull())
          .addPrimaryKeyConstraint('auth_failures_pk', ['subject', 'window_start'])
          .execute();
      },
    },
    '0012_sandbox_journal_balance': {
      async up(db: Kysely<any>) {
        // The sandbox bank's balance becomes the sum of its append-only journal (src/acquirers/sandbox.ts),
        // so no payment updates a per-shop row that every payment of the shop would queue behind.
        await db.schema.createIndex('sandbox_operations_shop_currency').on('sandbox_operations').columns(['shop_id', 'currency']).execute();
        // sandbox_accounts is dropped rather than kept as an opening-balance table, so the balance has one
        // source. Before that, what an account holds beyond its journal's sum (nothing, unless the account
        // was written apart from an operation) becomes one approved opening entry per shop and currency: an
        // upgraded installation reports the same balances after this migration as before. Summed in SQL,
        // exactly, past 2^53 too.
        // The signs are written out as they stood when this migration was made (a frozen migration must not
        // follow later changes of the sandbox's own sign table, src/acquirers/sandbox.ts).
        const signedAmount = sql.raw(
          "case kind when 'payment' then amount when 'capture' then amount when 'refund' then -amount " +
            "when 'payout' then -amount when 'credit' then -amount when 'chargeback' then -amount else 0 end",
        );
        const now = new Date().toISOString();
        await sql`
        insert into sandbox_operations (reference, shop_id, kind, amount, currency, approved, response, settle_at, created_at)
        select 'opening:' || shop_id || ':' || currency, shop_id, 'opening', sum(amount), currency, 1,
          cast(${JSON.stringify({ outcome: 'approved', message: 'Opening balance' })} as text), cast(${now} as text), cast(${now} as text)
        from (
          select shop_id, currency, amount from sandbox_accounts
          union all
          select shop_id, currency, -(${signedAmount}) from sandbox_operations where approved = 1
        ) as moves
        group by shop_id, currency
        having sum(amount) <> 0`.execute(db);
        await db.schema.dropTable('sandbox_accounts').execute();
      },
    },
  };
};

export async function migrateToLatest(db: Kysely<any>, dialect: Dialect): Promise<string[]> {
  const provider: MigrationProvider = { getMigrations: async () => migrationsFor(dialect) };
  // Kysely looks for its bookkeeping tables in every schema unless told which: name ours, so two
  // installations in one PostgreSQL database (one schema each) never take each other's for their own.
  const migrationTableSchema =
    dialect === 'postgres' ? (await sql<{ schema: string }>`select current_schema() as schema`.execute(db)).rows[0]?.schema : undefined;
  const migrator = new Migrator({ db, provider, migrationTableSchema });
  // Kysely's "does the table exist" check introspects every schema of the database: another installation's
  // schema dropped during that query fails it with 3F000 ("schema ... does not exist"), before any lock or
  // change of ours. Try again a few times.
  for (let attempt = 1; ; attempt++) {
    const { error, results } = await migrator.migrateToLatest();
    if (error && (error as { code?: string }).code === '3F000' && attempt < 10) continue;
    if (error) throw error;
    return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
  }
}
