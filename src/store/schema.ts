/**
 * Row shapes of the gateway's tables. Booleans are stored as 0/1 and JSON as text on both stores, and
 * timestamps as ISO 8601 UTC text with milliseconds (which sorts as time), so one code path serves SQLite
 * and PostgreSQL.
 */
import type { ColumnType, Generated } from 'kysely';
import type { TransactionStatus, TransactionType } from '../domain/transaction.js';

export interface ShopTable {
  id: number;
  name: string;
  secret_hash: string;
  secret_enc: string;
  test: number;
  three_d_secure: number;
  public_key: string;
  private_key_enc: string;
  acquirer: string;
  acquirer_settings: string;
  risk_rules: string;
  /** JSON array of host names, or null (any host). */
  return_hosts: string | null;
  created_at: string;
  updated_at: string;
}

export interface CardTable {
  token: string;
  shop_id: number;
  pan_enc: string;
  key_id: string;
  /** The shop's own stamp of the number (Vault.stamp). */
  stamp: string;
  /** The installation-wide stamp of a card stored before stamps were per shop, until the vault re-stamps it. */
  legacy_stamp: string | null;
  brand: string;
  first_1: string;
  last_4: string;
  bin: string;
  bin_8: string;
  holder: string | null;
  exp_month: number;
  exp_year: number;
  created_at: string;
  updated_at: string;
}

export interface TransactionTable {
  uid: string;
  shop_id: number;
  type: TransactionType;
  status: TransactionStatus;
  amount: number;
  currency: string;
  description: string | null;
  tracking_id: string | null;
  test: number;
  language: string | null;
  parent_uid: string | null;
  reason: string | null;
  message: string | null;
  code: string | null;
  friendly_message: string | null;
  card_token: string | null;
  card_stamp: string | null;
  /** Masked card view (never the number): JSON of the API's credit_card object. */
  credit_card: string | null;
  notification_url: string | null;
  return_url: string | null;
  customer: string | null;
  billing_address: string | null;
  additional_data: string | null;
  /** Payout-only echo: recipient, sender and their addresses, recipient card mask. */
  extra: string | null;
  /** The acquirer's answer: JSON of the `<type>` sub-object. */
  acquirer_response: string | null;
  three_d_secure: string | null;
  be_protected: string | null;
  avs_cvc: string | null;
  /** Our idempotent reference at the acquirer: inquiries use it, never a second charge. */
  acquirer_ref: string;
  /** Money limits of a parent: successful children, and children in flight (reserved). */
  child_amount: number;
  reserved_amount: number;
  voided: number;
  next_inquiry_at: string | null;
  inquiry_attempts: number;
  created_at: string;
  updated_at: string;
  paid_at: string | null;
  expired_at: string | null;
  closed_at: string | null;
  settled_at: string | null;
}

export interface LedgerEntryTable {
  id: Generated<number>;
  shop_id: number;
  transaction_uid: string;
  currency: string;
  amount: number;
  created_at: string;
}

export interface IdempotencyKeyTable {
  shop_id: number;
  key: string;
  body_hash: string;
  /** Which attempt holds the key now; a stale attempt's transaction A cannot link to it. */
  claim_token: string | null;
  transaction_uid: string | null;
  status_code: number | null;
  response: string | null;
  created_at: string;
}

export interface WebhookDeliveryTable {
  id: Generated<number>;
  shop_id: number;
  transaction_uid: string;
  url: string;
  /** The exact bytes (as UTF-8 text) every attempt sends and signs. */
  payload: string;
  /** `pending` (due at next_attempt_at), `delivering` (leased), `delivered`, `dead` (retries used up). */
  state: string;
  /** Attempts made so far (rows in webhook_attempts). */
  attempts: number;
  next_attempt_at: string;
  created_at: string;
  /** `host[:port]` of the URL: the per-host cap of the delivery workers is applied in the claim query. */
  host: string | null;
  lease_owner: string | null;
  lease_expires_at: string | null;
  delivered_at: string | null;
  /** 1 for a delivery queued by `renotify` (the per-transaction cap counts these), 0 for a status change. */
  renotify: ColumnType<number, number | undefined, number>;
}

/** One HTTP attempt of a webhook delivery: the operator's history (admin API). */
export interface WebhookAttemptTable {
  delivery_id: number;
  /** 1-based, as sent in X-Webhook-Attempt. */
  attempt: number;
  attempted_at: string;
  /** The receiver's HTTP status; null when it never answered (connection error, timeout). */
  status_code: number | null;
  latency_ms: number;
  error: string | null;
  /** The X-Request-Id the attempt carried, to match the receiver's logs. */
  request_id: string;
}

export interface VaultSecretTable {
  name: string;
  key_id: string;
  ciphertext: string;
}

export interface SandboxOperationTable {
  reference: string;
  shop_id: number;
  kind: string;
  amount: number;
  currency: string;
  approved: number;
  response: string;
  settle_at: string;
  created_at: string;
}

export interface AsyncTaskTable {
  id: string;
  shop_id: number;
  /** The operation's route name (`payments`, `refunds`, `transaction`, `balance`, ...). */
  operation: string;
  /** The request (body and path parameters) sealed by the vault; null once processed. */
  request_enc: string | null;
  /** The key the task's transaction is recorded under, so a retried task finds what it already did. */
  idempotency_key: string;
  /** The operation and body the key stands for (null on tasks older than the column). */
  request_hash: string | null;
  state: string;
  lease_owner: string | null;
  lease_expires_at: string | null;
  attempts: number;
  status_code: number | null;
  response: string | null;
  created_at: string;
  started_at: string | null;
  completed_at: string | null;
}

/** Something the operator should look at (GET /admin/alerts): one row per shop, kind and burst. */
export interface ShopAlertTable {
  id: Generated<number>;
  shop_id: number;
  /** `card_enumeration`: many card numbers sharing their shown digits (a number guessed from its mask). */
  kind: string;
  /** Requests refused in this burst. */
  refused: number;
  first_at: string;
  last_at: string;
}

export interface Database {
  shop_alerts: ShopAlertTable;
  async_tasks: AsyncTaskTable;
  shops: ShopTable;
  cards: CardTable;
  transactions: TransactionTable;
  ledger_entries: LedgerEntryTable;
  idempotency_keys: IdempotencyKeyTable;
  webhook_deliveries: WebhookDeliveryTable;
  webhook_attempts: WebhookAttemptTable;
  vault_secrets: VaultSecretTable;
  sandbox_operations: SandboxOperationTable;
}
