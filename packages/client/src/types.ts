/**
 * Requests and responses of the processing API, with the field names as they are on the wire
 * (snake_case). Amounts are integers in minor units (`"$32.45"` is `3245`), never floats.
 */

// ---------------------------------------------------------------------------------------------------
// Requests (what goes inside {"request": ...}; the client adds the wrapper)

/** A card given by its number. `exp_month` / `exp_year` may be strings (`"05"`) or integers. */
export interface CreditCardInput {
  number: string;
  verification_value?: string;
  holder: string;
  exp_month: string | number;
  exp_year: string | number;
  skip_three_d_secure_verification?: boolean;
}

/** A card given by a token of the vault (from an earlier transaction or `createCardToken`). */
export interface CardTokenInput {
  token: string;
  verification_value?: string;
  skip_three_d_secure_verification?: boolean;
}

export interface Customer {
  ip?: string;
  email?: string;
  device_id?: string;
  birth_date?: string;
}

export interface BillingAddress {
  first_name?: string;
  last_name?: string;
  country?: string;
  city?: string;
  state?: string;
  zip?: string;
  address?: string;
  phone?: string;
}

/** Payment, authorization and tokenization. */
export interface PaymentRequest {
  amount: number;
  currency: string;
  description: string;
  tracking_id?: string;
  test?: boolean;
  language?: string;
  /** Webhook target (spec §5). */
  notification_url?: string;
  /** Where the customer's browser returns after 3-D Secure. */
  return_url?: string;
  /** ISO 8601; an unpaid (`incomplete`) transaction becomes `expired` after it. */
  expired_at?: string;
  /** Default true: the same shop, type, amount, currency and card within 30 s is a `Duplicate transaction`. */
  duplicate_check?: boolean;
  credit_card: CreditCardInput | CardTokenInput;
  customer?: Customer;
  billing_address?: BillingAddress;
  additional_data?: Record<string, unknown>;
}

export type AuthorizationRequest = PaymentRequest;
export type TokenizationRequest = PaymentRequest;
/** Risk rules only, no money moves; `tracking_id` is required here. */
export type CheckupRequest = PaymentRequest & { tracking_id: string };

/** Capture or void of an authorization. The currency is the parent's. */
export interface CaptureRequest {
  parent_uid: string;
  amount: number;
  notification_url?: string;
  duplicate_check?: boolean;
}

export type VoidRequest = CaptureRequest;

/** Refund of a payment or a capture; several partial refunds are allowed. */
export interface RefundRequest {
  parent_uid: string;
  amount: number;
  reason: string;
  notification_url?: string;
  duplicate_check?: boolean;
}

/** The bank's dispute, simulated: only shops in test mode may create one through the API. */
export type ChargebackRequest = RefundRequest;

export interface RecipientCardInput {
  number: string;
  holder: string;
  exp_month: string | number;
  exp_year: string | number;
}

export interface PayoutRequest {
  amount: number;
  currency: string;
  description: string;
  tracking_id?: string;
  test?: boolean;
  notification_url?: string;
  duplicate_check?: boolean;
  recipient_credit_card: RecipientCardInput | { token: string };
  recipient?: Record<string, unknown>;
  sender?: Record<string, unknown>;
  recipient_billing_address?: BillingAddress;
  sender_billing_address?: BillingAddress;
  additional_data?: Record<string, unknown>;
}

/** The legacy payout to a stored card token. */
export interface CreditRequest {
  amount: number;
  currency: string;
  description: string;
  tracking_id?: string;
  test?: boolean;
  notification_url?: string;
  duplicate_check?: boolean;
  credit_card: { token: string };
  additional_data?: Record<string, unknown>;
}

/** `balance('USD')` is short for `balance({ currency: 'USD' })`. */
export interface BalanceRequest {
  currency?: string;
  gateway_id?: string | number;
  account?: string;
}

export interface CardTokenCreateRequest {
  number: string;
  holder: string;
  exp_month: string | number;
  exp_year: string | number;
}

/** Updates holder and/or expiry of a stored card; the token stays the same. */
export interface CardTokenUpdateRequest {
  token: string;
  holder?: string;
  exp_month?: string | number;
  exp_year?: string | number;
}

// ---------------------------------------------------------------------------------------------------
// Responses

export type TransactionType =
  | 'payment'
  | 'authorization'
  | 'tokenization'
  | 'capture'
  | 'void'
  | 'refund'
  | 'payout'
  | 'credit'
  | 'checkup'
  | 'chargeback';

/** `pending`: the bank's answer is not known yet (settled later by inquiry). */
export type TransactionStatus = 'successful' | 'failed' | 'incomplete' | 'expired' | 'pending';

export type CardBrand = 'visa' | 'master' | 'maestro' | 'amex' | 'discover' | 'jcb' | 'diners' | 'unionpay' | 'mir' | 'unknown';

/** The card as the gateway shows it: never the full number, never the CVC. */
export interface CreditCard {
  holder: string | null;
  /** A keyed hash of the number, stable per card. */
  stamp: string;
  brand: CardBrand;
  last_4: string;
  first_1: string;
  bin: string;
  bin_8: string;
  exp_month: number;
  exp_year: number;
  token: string;
  issuer_country?: string | null;
  issuer_name?: string | null;
  product?: string | null;
  token_provider?: string | null;
}

/** The `<type>` sub-object (`payment`, `authorization`, `capture`, ...): the acquirer's answer. */
export interface OperationResult {
  status: string;
  message: string | null;
  auth_code: string | null;
  bank_code: string | null;
  rrn: string | null;
  ref_id: string | null;
  gateway_id: string | number | null;
  amount: number;
  currency: string;
  billing_descriptor: string | null;
  [field: string]: unknown;
}

export interface ThreeDSecureVerification {
  status: string | null;
  message: string | null;
  ve_status: string | null;
  pa_status: string | null;
  eci: string | null;
  [field: string]: unknown;
}

export interface BeProtectedVerification {
  status: string;
  message: string | null;
  white_black_list?: { email?: string; ip?: string; card_number?: string };
  rules?: unknown;
  limit?: { volume?: unknown; count?: unknown; max?: unknown; current_volume?: unknown; current_count?: unknown } | null;
  [field: string]: unknown;
}

export interface AvsCvcVerification {
  avs_verification?: { result_code: string | null };
  cvc_verification?: { result_code: string | null };
}

/**
 * The transaction object of every operation and status query. A declined payment is one of these with
 * `status: "failed"`, not an error.
 */
export interface Transaction {
  uid: string;
  /** Same value as `uid`. */
  id: string;
  type: TransactionType;
  status: TransactionStatus;
  /** `"Successfully processed"`, a decline text, or `null` while `incomplete`. */
  message: string | null;
  /** `S.0000`, `F.01xx`, `P.xxxx`. */
  code: string | null;
  friendly_message: string | null;
  amount: number;
  currency: string;
  test: boolean;
  language: string | null;
  payment_method_type: 'credit_card';
  /** Absent on child transactions (capture, void, refund, chargeback). */
  description?: string | null;
  tracking_id?: string | null;
  /** On capture, void, refund, chargeback. */
  parent_uid?: string;
  /** On refund and chargeback. */
  reason?: string;
  created_at: string;
  updated_at: string;
  paid_at: string | null;
  expired_at: string | null;
  closed_at: string | null;
  settled_at: string | null;
  manually_corrected_at: string | null;
  recurring_type: string | null;
  status_code: string | number | null;
  receipt_url: string;
  /** When `incomplete`: where to send the customer's browser (3-D Secure). */
  redirect_url?: string;
  credit_card?: CreditCard | null;
  recipient_credit_card?: CreditCard;
  three_d_secure_verification?: ThreeDSecureVerification;
  be_protected_verification?: BeProtectedVerification | null;
  avs_cvc_verification?: AvsCvcVerification;
  customer?: Customer | null;
  billing_address?: BillingAddress | null;
  additional_data: Record<string, unknown>;
  payment?: OperationResult;
  authorization?: OperationResult;
  tokenization?: OperationResult;
  capture?: OperationResult;
  void?: OperationResult;
  refund?: OperationResult;
  payout?: OperationResult;
  credit?: OperationResult;
  checkup?: OperationResult;
  chargeback?: OperationResult;
  /** The original gateway returns more than the contract lists; those fields come through as they are. */
  [field: string]: unknown;
}

/** The response format the client asks for (`X-API-Version`): 2, the default, or 3 (spec §10). */
export type ApiVersion = 2 | 3;

/** v3's `payment_method`: the masked card (never the number); on a child transaction the type alone. */
export interface PaymentMethod {
  payment_method_type: 'credit_card';
  holder?: string | null;
  stamp?: string;
  brand?: CardBrand;
  last_4?: string;
  first_1?: string;
  bin?: string;
  exp_month?: number;
  exp_year?: number;
  token?: string;
}

/** v3's `transaction`: the acquirer's answer (v2's `<type>` sub-object). */
export interface AcquirerAnswer {
  auth_code: string | null;
  bank_code: string | null;
  rrn: string | null;
  ref_id: string | null;
  message: string | null;
  gateway_id: string | number | null;
  billing_descriptor: string | null;
  status: string;
}

/**
 * The transaction in the v3 format (`apiVersion: 3`): flat, the card as `payment_method` and the acquirer's
 * answer as `transaction`, every other member as in v2.
 */
export type TransactionV3 = Omit<
  KnownMembers<Transaction>,
  'credit_card' | 'recipient_credit_card' | 'payment_method_type' | TransactionType | 'transaction' | 'payment_method'
> & {
  payment_method: PaymentMethod;
  transaction: AcquirerAnswer | null;
  [field: string]: unknown;
};

/** The named members of a type, without its index signature (which would make Omit drop them all). */
type KnownMembers<T> = { [K in keyof T as string extends K ? never : number extends K ? never : K]: T[K] };

/** The transaction object of the version a client asks for. */
export type TransactionOf<V extends ApiVersion> = V extends 3 ? TransactionV3 : Transaction;

/** A webhook's transaction; a chargeback carries the disputed payment or capture inside. */
export interface WebhookTransaction extends Transaction {
  parent_transaction?: Transaction;
}

/** The merchant account's balance at the acquirer (the `result` of `POST /balance`), in minor units. */
export interface Balance {
  gatewayId: string | number | null;
  account: string;
  amount: number;
  currency: string;
  bankInfo: unknown;
}

/** The bare card object of `/credit_cards`. */
export interface CardToken {
  token: string;
  holder: string | null;
  brand: CardBrand;
  first_1: string;
  last_4: string;
  exp_month: number;
  exp_year: number;
  stamp: string;
}
