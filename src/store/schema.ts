import type { ColumnType, Generated, Selectable } from 'kysely';
import type { EsimGoTables } from './tables/esimgo.ts';
import type { DataplansTables } from './tables/dataplans.ts';
import type { NativeApiTables } from './tables/native_api.ts';
import type { OperationsTables } from './tables/operations.ts';
import type { ConsoleTables } from './tables/console.ts';

/**
 * Row types of every table. Times are integer milliseconds since the Unix epoch (UTC);
 * money is an integer count of 1/10,000 of the currency unit; data volumes are integer bytes.
 */
export interface PartnerTable {
  id: string;
  name: string;
  environment: 'sandbox' | 'live';
  currency: string;
  price_tier_id: string;
  status: 'active' | 'suspended' | 'closed';
  /** Requests per second per AccessCode; null means the server default. */
  rate_limit_per_second: number | null;
  /** JSON array of IP addresses or CIDR blocks refused with 101002. */
  ip_blocklist: string;
  /** Sandbox clock: how far this partner's clock runs ahead of real time. */
  clock_offset_ms: number;
  /** Amount of the last deposit, for low-balance thresholds. */
  last_deposit_amount: number;
  webhook_url: string | null;
  webhook_secret_enc: string | null;
  created_at: number;
  updated_at: number;
  /** Sandbox: eSIMs live realistic lives on their own (install, use data) when 1. */
  traffic_mode: Generated<number>;
}

export interface ApiKeyTable {
  id: string;
  partner_id: string;
  /** sha256 of the AccessCode: lookups never need the plain code. */
  access_code_hash: string;
  /** The first characters, for display in lists. */
  access_code_hint: string;
  /** AES-256-GCM encrypted AccessCode and SecretKey (JSON), needed to verify HMAC signatures. */
  secret_enc: string;
  label: string;
  signature_required: number;
  status: 'active' | 'revoked';
  /** Set when the key was rolled: it keeps working until then. */
  expires_at: number | null;
  created_at: number;
  revoked_at: number | null;
  last_used_at: number | null;
}

export interface PriceTierTable {
  id: string;
  name: string;
  /** Partner price = list price × factor / 10,000. */
  price_factor_bps: number;
  /** Monthly spend (in 1/10,000 units) from which the tier applies, informational. */
  min_monthly_volume: number;
}

export interface LedgerAccountTable {
  id: string;
  /** wallet (a partner's prepaid balance) or a system account (funding, revenue). */
  kind: 'wallet' | 'funding' | 'revenue';
  partner_id: string | null;
  currency: string;
  debits_posted: number;
  credits_posted: number;
  /** Wallets may not go below zero: debits must not exceed credits. */
  debits_must_not_exceed_credits: number;
  updated_at: number;
}

export interface LedgerTransferTable {
  seq: Generated<number>;
  id: string;
  /** Unique per the whole ledger: a retried request with the same id changes nothing. */
  idempotency_id: string;
  debit_account_id: string;
  credit_account_id: string;
  amount: number;
  currency: string;
  kind: 'deposit' | 'charge' | 'refund' | 'adjustment' | 'withdrawal';
  partner_id: string;
  reference: string | null;
  memo: string | null;
  created_at: number;
}

export interface LocationTable {
  code: string;
  name: string;
  /** 1 single country, 2 multi-country region. */
  type: number;
  /** For regions: continent-style group such as Europe or Global. */
  region_group: string | null;
  sort_order: number;
}

export interface LocationMemberTable {
  region_code: string;
  country_code: string;
}

export interface OperatorTable {
  id: string;
  country_code: string;
  name: string;
  mcc: string;
  mnc: string;
  network_types: string;
}

export interface PackageTable {
  package_code: string;
  slug: string;
  name: string;
  type: 'BASE' | 'TOPUP';
  /** List (wholesale) price before the partner's tier factor. */
  price: number;
  currency_code: string;
  volume: number;
  sms_status: number;
  data_type: number;
  unused_valid_time: number;
  duration: number;
  duration_unit: string;
  /** The package's primary location: a country code or a region code. */
  location_code: string;
  /** Comma-separated ISO country codes covered. */
  location: string;
  description: string;
  active_type: number;
  favorite: number;
  retail_price: number;
  speed: string;
  ip_export: string;
  support_topup_type: number;
  fup_policy: string;
  /** Day passes are priced per day and ordered with periodNum. */
  is_daypass: number;
  /** Base and top-up packages with the same group fit each other. */
  topup_group: string;
  /** JSON: [{locationName, locationLogo, locationCode, operatorList:[{operatorName, networkType}]}]. */
  networks_json: string;
  /** Where live profiles come from: pool, or an upstream provider. */
  supply: string;
  status: 'active' | 'retired';
  sort_order: number;
  created_at: number;
  updated_at: number;
}

export interface RequestNonceTable {
  key_id: string;
  request_id: string;
  seen_at: number;
}

export interface MetaTable {
  key: string;
  value: string;
}


export interface SequenceTable {
  name: string;
  value: number;
}

export interface OrderTable {
  id: string;
  /** `B` + digits, what partners see. */
  order_no: string;
  partner_id: string;
  /** order: new eSIMs; topup: a bundle added to an existing eSIM. */
  kind: 'order' | 'topup';
  /** The partner's idempotency key, unique per partner and kind. */
  transaction_id: string;
  status: 'allocating' | 'ready' | 'failed';
  environment: 'sandbox' | 'live';
  total_count: number;
  allocated_count: number;
  amount: number;
  currency: string;
  target_esim_id: string | null;
  failure_reason: string | null;
  created_at: number;
  updated_at: number;
  completed_at: number | null;
}

export interface OrderItemTable {
  id: string;
  order_id: string;
  line_no: number;
  package_code: string;
  count: number;
  period_num: number | null;
  unit_price: number;
  line_amount: number;
}

export type SmdpStatus = 'RELEASED' | 'DOWNLOAD' | 'INSTALLATION' | 'ENABLED' | 'DISABLED' | 'DELETED';
export type EsimStatus = 'GOT_RESOURCE' | 'IN_USE' | 'USED_UP' | 'UNUSED_EXPIRED' | 'USED_EXPIRED' | 'CANCEL' | 'SUSPENDED' | 'REVOKE';

export interface EsimTable {
  id: string;
  esim_tran_no: string;
  order_id: string;
  order_item_id: string;
  /** Position within its order item: (order_item_id, slot) is unique, so a retried allocation cannot double up. */
  slot: number;
  partner_id: string;
  environment: 'sandbox' | 'live';
  transaction_id: string;
  package_code: string;
  iccid: string;
  imsi: string | null;
  msisdn: string | null;
  ac: string;
  smdp_address: string;
  matching_id: string;
  confirmation_code: string | null;
  pin: string | null;
  puk: string | null;
  apn: string | null;
  eid: string | null;
  supply: string;
  pool_profile_id: string | null;
  smdp_status: SmdpStatus;
  esim_status: EsimStatus;
  status_before_suspend: string | null;
  sms_status: number;
  data_type: number;
  active_type: number;
  /** What the partner paid for this eSIM's base bundle (refunded in full on cancel). */
  price: number;
  qr_token: string;
  short_code: string;
  download_deadline: number;
  activate_time: number | null;
  expired_time: number | null;
  total_volume: number;
  total_duration: number;
  duration_unit: string;
  order_usage: number;
  last_usage_at: number | null;
  created_at: number;
  updated_at: number;
  /** Highest DATA_USAGE threshold already announced: 0, 50, 80 or 90 (% used). */
  usage_alert_level: Generated<number>;
  /** 1 once VALIDITY_USAGE (one day left) was sent. */
  validity_alert_sent: Generated<number>;
  /** 1 while a daily-limit plan runs at reduced speed or is cut off for the rest of the day. */
  throttled: Generated<number>;
}

export type BundleState = 'processing' | 'queued' | 'active' | 'depleted' | 'expired' | 'revoked' | 'lapsed';

export interface BundleTable {
  id: string;
  esim_id: string;
  /** Bundles are used in seq order. */
  seq: number;
  order_id: string;
  package_code: string;
  kind: 'BASE' | 'TOPUP';
  state: BundleState;
  volume: number;
  used_bytes: number;
  duration: number;
  duration_unit: string;
  data_type: number;
  period_num: number | null;
  price: number;
  activated_at: number | null;
  expires_at: number | null;
  created_at: number;
  updated_at: number;
  /** Daily-limit plans: bytes used in the current day window, and which window (days since activation). */
  day_used_bytes: Generated<number>;
  day_index: Generated<number>;
}

export interface UsageRecordTable {
  /** Deduplication key: the supplier's record id, or a hash of (eSIM, period, bytes). */
  record_key: string;
  esim_id: string;
  bytes: number;
  period_start: number | null;
  period_end: number | null;
  source: string;
  received_at: number;
}

export interface SmsMessageTable {
  id: string;
  esim_id: string;
  partner_id: string;
  /** mt: sent to the device (esim/sendSms); mo: received from the network (sandbox). */
  direction: 'mt' | 'mo';
  sender: string | null;
  body: string;
  created_at: number;
}

export interface ProfileBatchTable {
  id: string;
  name: string;
  pool: string;
  profile_count: number;
  low_stock_threshold: number;
  created_at: number;
}

export interface PoolProfileTable {
  id: string;
  batch_id: string;
  /** A package code, `op:<MCC+MNC>` (an operator) or `loc:<country or region code>`: which orders may draw from it. */
  pool: string;
  iccid: string;
  smdp_address: string;
  matching_id: string;
  confirmation_code: string | null;
  imsi: string | null;
  msisdn: string | null;
  pin: string | null;
  puk: string | null;
  apn: string | null;
  luhn_ok: number;
  status: 'available' | 'assigned';
  assigned_esim_id: string | null;
  created_at: number;
  assigned_at: number | null;
}

export interface JobTable {
  id: Generated<number>;
  kind: string;
  job_key: string | null;
  payload: string;
  status: 'queued' | 'done' | 'failed';
  run_at: number;
  attempts: number;
  max_attempts: number;
  locked_by: string | null;
  locked_until: number | null;
  last_error: string | null;
  created_at: number;
  updated_at: number;
}

export interface EventTable {
  seq: Generated<number>;
  id: string;
  partner_id: string;
  type: string;
  /** The eSIM or order the event is about: deliveries keep order per subject. */
  subject: string | null;
  payload: string;
  occurred_at: number;
  created_at: number;
}

export type WebhookDeliveryStatus = 'pending' | 'delivered' | 'failed' | 'dead';

/** One event to deliver to one partner endpoint; `failed` means "failed so far, retry scheduled". */
export interface WebhookDeliveryTable {
  id: string;
  /** The event id: also the `webhook-id` header and the eSIM Access `notifyId`, the same on every retry. */
  event_id: string;
  event_seq: number;
  partner_id: string;
  subject: string | null;
  /** The endpoint when the delivery was created; the latest attempt's endpoint afterwards. */
  url: string;
  status: WebhookDeliveryStatus;
  attempts: number;
  next_attempt_at: number;
  locked_by: string | null;
  locked_until: number | null;
  last_status_code: number | null;
  last_error: string | null;
  delivered_at: number | null;
  /** Start of the current retry cycle (creation, or the last manual resend) and the attempts made in it. */
  cycle_started_at: number;
  cycle_attempts: number;
  created_at: number;
  updated_at: number;
}

export interface WebhookAttemptTable {
  id: string;
  delivery_id: string;
  attempt_no: number;
  url: string;
  started_at: number;
  latency_ms: number;
  status_code: number | null;
  error: string | null;
  response_excerpt: string | null;
}

/** Every table: the core ones below, plus each dialect's and feature's own (see ./tables/). */
export interface DB extends EsimGoTables, DataplansTables, NativeApiTables, OperationsTables, ConsoleTables {
  partners: PartnerTable;
  api_keys: ApiKeyTable;
  price_tiers: PriceTierTable;
  ledger_accounts: LedgerAccountTable;
  ledger_transfers: LedgerTransferTable;
  locations: LocationTable;
  location_members: LocationMemberTable;
  operators: OperatorTable;
  packages: PackageTable;
  request_nonces: RequestNonceTable;
  meta: MetaTable;
  sequences: SequenceTable;
  orders: OrderTable;
  order_items: OrderItemTable;
  esims: EsimTable;
  bundles: BundleTable;
  profile_batches: ProfileBatchTable;
  pool_profiles: PoolProfileTable;
  jobs: JobTable;
  events: EventTable;
  webhook_deliveries: WebhookDeliveryTable;
  webhook_attempts: WebhookAttemptTable;
  usage_records: UsageRecordTable;
  sms_messages: SmsMessageTable;
}

export type Unused = ColumnType<never, never, never>;

/** Rows as read (defaulted columns are plain values). */
export type Esim = Selectable<EsimTable>;
export type Bundle = Selectable<BundleTable>;
export type Partner = Selectable<PartnerTable>;
