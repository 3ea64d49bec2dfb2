/** GET/POST /console/api/deposits: a partner's deposit requests (console only, not in /v1). */
export interface DepositRequest {
  id: string;
  amount: number;
  currency: string;
  reference: string | null;
  status: 'pending' | 'approved' | 'rejected';
  created_at: string;
  decided_at: string | null;
  transfer_id: string | null;
}
