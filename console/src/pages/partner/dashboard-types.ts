/** GET /console/api/dashboard. Money in 1/10,000 units, bytes as integers, dates YYYY-MM-DD (UTC). */
export interface DashboardData {
  balance: number;
  currency: string;
  spend: number;
  active_esims: number;
  since: string;
  now: string;
  orders_per_day: Array<{ date: string; value: number }>;
  data_used_per_day: Array<{ date: string; value: number }>;
}
