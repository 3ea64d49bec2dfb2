/** Shapes of the operator console API (/console/api/operator/...). Money in 1/10,000 of the currency. */

export interface OpPartner {
  id: string;
  name: string;
  environment: 'sandbox' | 'live';
  currency: string;
  price_tier_id: string;
  status: 'active' | 'suspended' | 'closed';
  rate_limit_per_second: number | null;
  balance: number;
  created_at: string;
  updated_at: string;
}

export interface OpLedgerRow {
  seq: number;
  id: string;
  kind: string;
  amount_minor: number;
  currency: string;
  reference: string | null;
  memo: string | null;
  created_at: string;
}

export interface OpPartnerDetail {
  partner: OpPartner;
  users: Array<{ id: string; email: string; status: string; created_at: string; last_login_at: string | null }>;
  active_api_keys: number;
  esims_by_status: Record<string, number>;
  pending_deposits: { count: number; amount: number };
  tier: { effective_tier_id: string; price_factor_bps: number; source: string; monthly_spend: number } | null;
  ledger: { data: OpLedgerRow[]; next_before: number | null };
}

export interface OpTier {
  id: string;
  name: string;
  price_factor_bps: number;
  min_monthly_volume: number;
}

export interface OpDeposit {
  id: string;
  partner_id: string;
  partner_name: string | null;
  environment: 'sandbox' | 'live' | null;
  amount: number;
  currency: string;
  reference: string;
  status: 'pending' | 'approved' | 'rejected';
  created_at: string;
  decided_at: string | null;
  decided_by: string | null;
}

export interface OpPackage {
  package_code: string;
  slug: string;
  name: string;
  type: 'BASE' | 'TOPUP';
  status: 'active' | 'retired';
  supply: string;
  location_code: string;
  locations: string[];
  volume_bytes: number;
  duration: number;
  duration_unit: string;
  data_type: number;
  currency: string;
  list_price: number;
  retail_price: number;
  tier_prices: Array<{ tier_id: string; tier_name: string; price_factor_bps: number; price: number }>;
}

export interface OpPool {
  pool: string;
  label: string;
  available: number;
  assigned: number;
  reserved: number;
  used: number;
  total: number;
  low_stock_threshold: number;
  low: boolean;
  batches: Array<{ id: string; name: string; profile_count: number; low_stock_threshold: number; created_at: string }>;
}

export interface Latency {
  count: number;
  p50_ms: number | null;
  p90_ms: number | null;
  p99_ms: number | null;
}

export interface OrdersSummary {
  total: number;
  by_status: Record<string, number>;
  amount_by_currency: Array<{ currency: string; amount_minor: number }>;
}

export interface SupplySource {
  id: string;
  name: string;
  status: 'ok' | 'warning' | 'down' | 'unused';
  detail: string;
  orders_24h: Record<string, number> | null;
  allocation_latency: Latency | null;
  failure_reasons: Array<{ reason: string; count: number }>;
}

export interface Overview {
  generated_at: string;
  partners: { total: number; sandbox: number; live: number; active: number; suspended: number };
  esims: { total: number; sandbox: number; live: number; by_status: Record<string, number> };
  orders_24h: { sandbox: OrdersSummary; live: OrdersSummary };
  jobs: { queued: number; failed: number; overdue: number; by_kind: Array<{ kind: string; queued: number; failed: number }> };
  webhooks: { pending: number; failed: number; dead: number; oldest_backlog_at: string | null; lag_5m: Latency; failed_attempts_24h: number };
  deposits: { pending: number; oldest_at: string | null; amount_by_currency: Array<{ currency: string; amount_minor: number }> };
  low_stock: Array<{ pool: string; available: number; threshold: number }>;
  supply: SupplySource[];
  database: { status: 'ok' | 'down'; store: string; latency_ms: number | null; pending_migrations: string[]; error?: string };
  role: string;
}
