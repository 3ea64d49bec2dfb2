/**
 * The /v1 resources. Money is an integer in 1/10,000 of `currency`; times are RFC 3339 strings.
 * (test/sdk-types.test.ts checks these against the server's TypeBox schemas at compile time.)
 */
export interface Page<T> {
  object: 'list';
  data: T[];
  has_more: boolean;
  next_cursor: string | null;
}

export interface PageParams {
  limit?: number;
  cursor?: string;
}

export interface Location {
  object: 'location';
  code: string;
  name: string;
  type: 'country' | 'region';
  region_group: string | null;
  countries: Array<{ code: string; name: string }>;
}

export interface Operator {
  object: 'operator';
  id: string;
  country_code: string;
  name: string;
  mcc: string;
  mnc: string;
  network_types: string;
}

export interface Package {
  object: 'package';
  id: string;
  slug: string;
  name: string;
  type: 'base' | 'topup';
  price: number;
  retail_price: number;
  currency: string;
  volume_bytes: number;
  duration: number;
  duration_unit: string;
  data_type: number;
  day_pass: boolean;
  location_code: string;
  location_name: string;
  sms_supported: boolean;
  active_type: number;
  unused_valid_days: number;
  speed: string;
  topup_group: string;
  networks: Array<{ location_code: string; location_name: string; operators: Array<{ name: string; network_type: string }> }>;
}

export interface PackageListParams extends PageParams {
  type?: 'base' | 'topup';
  location?: string;
  topup_for_package?: string;
  topup_for_esim?: string;
  /** Case-insensitive text in the name, code, slug or location name. */
  q?: string;
  /** fixed (data_type 1), daily (2 and 3) or unlimited (4). */
  data_type?: 'fixed' | 'daily' | 'unlimited';
}

export interface OrderLineInput {
  /** A package code or slug. */
  package_id: string;
  count: number;
  period_num?: number;
  price?: number;
}

export interface CreateOrderParams {
  transaction_id?: string;
  lines: OrderLineInput[];
  amount?: number;
}

export interface OrderLine {
  package_id: string;
  count: number;
  period_num: number | null;
  unit_price: number;
  amount: number;
}

export type OrderStatus = 'allocating' | 'ready' | 'failed';

export interface Order {
  object: 'order';
  id: string;
  order_no: string;
  transaction_id: string;
  status: OrderStatus;
  amount: number;
  currency: string;
  profile_count: number;
  allocated_count: number;
  lines: OrderLine[];
  failure_reason: string | null;
  created_at: string;
  completed_at: string | null;
}

export interface OrderValidation {
  object: 'order_validation';
  valid: boolean;
  amount: number;
  currency: string;
  balance: number;
  balance_sufficient: boolean;
  lines: OrderLine[];
}

export interface OrderListParams extends PageParams {
  status?: OrderStatus;
  transaction_id?: string;
}

export type EsimStatus = 'GOT_RESOURCE' | 'IN_USE' | 'USED_UP' | 'UNUSED_EXPIRED' | 'USED_EXPIRED' | 'CANCEL' | 'SUSPENDED' | 'REVOKE';

export interface Bundle {
  id: string;
  package_id: string;
  kind: 'base' | 'topup';
  state: string;
  volume_bytes: number;
  used_bytes: number;
  duration: number;
  duration_unit: string;
  activated_at: string | null;
  expires_at: string | null;
  created_at: string;
}

export interface Esim {
  object: 'esim';
  id: string;
  iccid: string;
  esim_tran_no: string;
  order_id: string;
  order_no: string;
  transaction_id: string;
  package_id: string;
  status: EsimStatus;
  smdp_status: string;
  /** LPA:1$<smdp>$<matching id> */
  activation_code: string;
  smdp_address: string;
  matching_id: string;
  confirmation_code: string | null;
  /** A PNG of the activation code, for the end user to scan. */
  qr_code_url: string;
  install_url: string;
  imsi: string | null;
  msisdn: string | null;
  eid: string | null;
  apn: string | null;
  sms_supported: boolean;
  data_type: number;
  total_volume_bytes: number;
  used_bytes: number;
  total_duration: number;
  duration_unit: string;
  install_by: string;
  activated_at: string | null;
  expires_at: string | null;
  created_at: string;
  bundles: Bundle[];
}

export interface EsimListParams extends PageParams {
  order_id?: string;
  iccid?: string;
  status?: EsimStatus;
  created_after?: string;
  created_before?: string;
}

export interface TopupParams {
  package_id: string;
  transaction_id?: string;
  amount?: number;
}

export interface Topup {
  object: 'topup';
  order_id: string;
  transaction_id: string;
  package_id: string;
  amount: number;
  currency: string;
  esim: Esim;
}

export interface UsageRecord {
  object: 'usage_record';
  id: string;
  bytes: number;
  period_start: string | null;
  period_end: string | null;
  received_at: string;
}

export interface Usage {
  object: 'usage';
  esim_id: string;
  used_bytes: number;
  total_bytes: number;
  remaining_bytes: number;
  updated_at: string;
  records: Page<UsageRecord>;
}

export interface Sms {
  object: 'sms';
  id: string;
  direction: 'mt' | 'mo';
  sender: string | null;
  body: string;
  created_at: string;
}

export interface Balance {
  object: 'balance';
  available: number;
  currency: string;
  updated_at: string;
}

export type TransactionKind = 'deposit' | 'charge' | 'refund' | 'adjustment' | 'withdrawal';

export interface Transaction {
  object: 'transaction';
  id: string;
  kind: TransactionKind;
  /** Signed: positive adds to the balance. */
  amount: number;
  currency: string;
  reference: string | null;
  memo: string | null;
  created_at: string;
}

export interface TransactionListParams extends PageParams {
  kind?: TransactionKind;
  created_after?: string;
  created_before?: string;
}

export interface WebhookEndpoint {
  object: 'webhook_endpoint';
  id: string;
  url: string;
  dialect: string;
  /** Only in the answer to create. */
  secret?: string;
}

export interface WebhookSecret {
  object: 'webhook_secret';
  secret: string;
  previous_secret_valid_until: string | null;
}

export interface WebhookTest {
  object: 'webhook_test';
  ok: boolean;
  status_code: number | null;
  latency_ms: number;
  error: string | null;
}

export type WebhookDeliveryStatus = 'pending' | 'delivered' | 'failed' | 'dead';

export interface WebhookDelivery {
  object: 'webhook_delivery';
  id: string;
  event_id: string;
  event_type: string;
  url: string;
  status: WebhookDeliveryStatus;
  attempts: number;
  last_status_code: number | null;
  last_error: string | null;
  next_attempt_at: string | null;
  delivered_at: string | null;
  created_at: string;
}

export interface ApiKey {
  object: 'api_key';
  id: string;
  label: string;
  access_code_hint: string;
  status: 'active' | 'revoked';
  signature_required: boolean;
  expires_at: string | null;
  created_at: string;
  revoked_at: string | null;
}

export interface ApiKeyCreated {
  object: 'api_key';
  id: string;
  label: string;
  access_code: string;
  secret_key: string;
  previous_key_expires_at: string | null;
}

/** Bundles bought and not yet applied (the same inventory as the eSIM Go dialect's). */
export interface InventoryItem {
  object: 'inventory_item';
  /** inv_ and the usage id (eSIM Go's `available[].id`). */
  id: string;
  package_id: string;
  purchased: number;
  remaining: number;
  unit_price: number;
  currency: string;
  transaction_id: string;
  expires_at: string;
  created_at: string;
}

export interface InventoryPurchaseParams {
  /** Your reference; a repeat answers the first purchase. Defaults to the Idempotency-Key. */
  transaction_id?: string;
  lines: Array<{ package_id: string; quantity: number }>;
}

export interface InventoryPurchase {
  object: 'inventory_purchase';
  transaction_id: string;
  amount: number;
  currency: string;
  lines: Array<{ package_id: string; quantity: number; unit_price: number; amount: number }>;
  created_at: string;
}

export interface InventoryApplyParams {
  package_id: string;
  /** Apply onto this eSIM (id, ICCID or esim_tran_no); omit to make new eSIMs. */
  esim_id?: string;
  /** New eSIMs to make (without esim_id); default 1. */
  count?: number;
}

export interface InventoryApplication {
  object: 'inventory_application';
  package_id: string;
  esim_id: string | null;
  /** The order making the new eSIMs: poll it with orders.get / orders.waitUntilReady. */
  order_id: string | null;
  count: number;
}

/** RFC 9457 problem details, as /v1 answers every error. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  instance: string;
  code: string;
  request_id: string;
  errors?: Array<{ loc: string; msg: string; type: string }>;
}
