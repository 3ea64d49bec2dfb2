/** Row types of the tables migration 009_console creates; merged into DB in ../schema.ts. */
export interface ConsoleUserTable {
  id: string;
  /** Lower-cased; one user per address. */
  email: string;
  /** `scrypt$<N>$<r>$<p>$<salt b64url>$<hash b64url>`. */
  password_hash: string;
  /** partner: sees one partner's data; operator: runs the platform (no partner). */
  role: 'partner' | 'operator';
  partner_id: string | null;
  status: 'active' | 'disabled';
  /** Consecutive failed logins; a lockout grows with them. */
  failed_logins: number;
  locked_until: number;
  created_at: number;
  last_login_at: number | null;
}

export interface ConsoleSessionTable {
  /** sha256 of the cookie's token: a leaked table holds no usable session. */
  id_hash: string;
  user_id: string;
  /** Sent back by the console in X-CSRF-Token on every state-changing request. */
  csrf_token: string;
  created_at: number;
  expires_at: number;
  last_seen_at: number;
}

export interface DepositRequestTable {
  id: string;
  partner_id: string;
  amount_minor: number;
  currency: string;
  /** The partner's bank-transfer reference or note. */
  reference: string;
  status: 'pending' | 'approved' | 'rejected';
  requested_by: string | null;
  created_at: number;
  decided_at: number | null;
  decided_by: string | null;
  /** The ledger transfer an approval posted. */
  transfer_id: string | null;
  /** The client's Idempotency-Key: a repeat answers the first request. */
  idempotency_key: string | null;
}

export interface PartnerBrandingTable {
  partner_id: string;
  /** Shown on install pages and under branded QR codes instead of "esimhub". */
  display_name: string;
  /** data: URL of a PNG, JPEG or SVG logo (at most about 100 kB), or null. */
  logo_data_url: string | null;
  /** #rrggbb. */
  accent_color: string;
  updated_at: number;
}

export interface ConsoleTables {
  console_users: ConsoleUserTable;
  console_sessions: ConsoleSessionTable;
  deposit_requests: DepositRequestTable;
  partner_branding: PartnerBrandingTable;
}
