/** Console-only shapes of the eSIM pages (GET /console/api/esims/:id/timeline); the /v1 objects are in ../../v1-types.ts. */

export interface TimelineEntry {
  id: string;
  at: string;
  type: string;
  summary: string;
  changes: Array<{ field: 'status' | 'smdp_status'; from: string | null; to: string }>;
  webhook: { delivery_id: string; status: string; attempts: number; last_status_code: number | null; delivered_at: string | null } | null;
}

export interface WebhookHistoryItem {
  id: string;
  event_id: string;
  event_type: string;
  url: string;
  status: string;
  attempts: number;
  last_status_code: number | null;
  last_error: string | null;
  created_at: string;
  delivered_at: string | null;
  next_attempt_at: string | null;
  attempt_log: Array<{ attempt_no: number; started_at: string; status_code: number | null; error: string | null; latency_ms: number }>;
}

export interface EsimTimeline {
  esim_id: string;
  entries: TimelineEntry[];
  webhooks: WebhookHistoryItem[];
}
