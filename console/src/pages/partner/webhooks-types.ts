import type { WebhookDelivery } from '../../v1-types.ts';

/** GET /console/api/webhook-deliveries/:id */
export interface WebhookDeliveryDetail extends WebhookDelivery {
  subject: string | null;
  occurred_at: string | null;
  payload: unknown;
  attempt_log: Array<{ attempt_no: number; url: string; started_at: string | null; latency_ms: number; status_code: number | null; error: string | null; response_excerpt: string | null }>;
}
