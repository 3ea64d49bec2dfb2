/** Row types of the tables migration 008_operations creates; merged into DB in ../schema.ts. */
export interface RateLimitTable {
  /** What is limited, e.g. an API key id. */
  key: string;
  /** GCRA theoretical arrival time, epoch milliseconds (fractional). */
  tat: number;
}

export interface OperationsTables {
  rate_limits: RateLimitTable;
}
