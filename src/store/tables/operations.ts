/** Row types of the tables migration 008_operations creates; merged into DB in ../schema.ts. */
export interface RateLimitTable {
  /** What is limited, e.g. an API key id. */
  key: string;
  /** GCRA theoretical arrival time, epoch milliseconds (fractional). */
  tat: number;
  /** Tokens the last check took (a lease; 1 for keys limited to fewer than 40 a second). */
  granted: number;
}

/** A partner's charges and refunds in one calendar month (UTC), kept by the ledger with each transfer. */
export interface MonthlySpendTable {
  partner_id: string;
  /** YYYY-MM. */
  month: string;
  charges: number;
  refunds: number;
}

/** A fixed one-second window of requests per key (migration 014_rate_windows). */
export interface RateWindowTable {
  key: string;
  /** Epoch milliseconds of the window's first instant. */
  window_start: number;
  used: number;
}

export interface OperationsTables {
  rate_limits: RateLimitTable;
  rate_windows: RateWindowTable;
  monthly_spend: MonthlySpendTable;
}
