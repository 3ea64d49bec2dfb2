import type { Kysely } from 'kysely';
import type { DB, Esim, WebhookDeliveryStatus } from '../../store/schema.ts';

/** The newest this many events (and top-ups) make an eSIM's timeline: a console page, not an archive. */
export const TIMELINE_LIMIT = 200;
/** Attempts shown per delivery, newest first. */
const ATTEMPTS_PER_DELIVERY = 10;

export interface StatusChange {
  field: 'status' | 'smdp_status';
  from: string | null;
  to: string;
}

export interface TimelineWebhook {
  delivery_id: string;
  status: WebhookDeliveryStatus;
  attempts: number;
  last_status_code: number | null;
  delivered_at: string | null;
}

export interface TimelineEntry {
  id: string;
  at: string;
  /** An outbox event type (esim.status, esim.smdp, esim.data_usage, esim.validity, order.ready, …) or topup.added. */
  type: string;
  summary: string;
  changes: StatusChange[];
  /** The webhook delivery of this event, when the partner had an endpoint then. */
  webhook: TimelineWebhook | null;
}

export interface WebhookHistoryItem {
  id: string;
  event_id: string;
  event_type: string;
  url: string;
  status: WebhookDeliveryStatus;
  attempts: number;
  last_status_code: number | null;
  last_error: string | null;
  created_at: string;
  delivered_at: string | null;
  next_attempt_at: string | null;
  attempt_log: Array<{ attempt_no: number; started_at: string; status_code: number | null; error: string | null; latency_ms: number }>;
}

export interface EsimTimeline {
  object: 'esim_timeline';
  esim_id: string;
  entries: TimelineEntry[];
  webhooks: WebhookHistoryItem[];
}

const iso = (ms: number | string | null) => (ms === null ? null : new Date(Number(ms)).toISOString());

function parse(payload: string): Record<string, unknown> {
  try {
    const value = JSON.parse(payload) as unknown;
    return value && typeof value === 'object' ? (value as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

const SMDP_WORDS: Record<string, string> = {
  RELEASED: 'Profile released, ready to download',
  DOWNLOAD: 'Profile downloaded to a device',
  INSTALLATION: 'Profile installed',
  ENABLED: 'Profile enabled',
  DISABLED: 'Profile disabled',
  DELETED: 'Profile deleted from the device',
};

function summarize(type: string, p: Record<string, unknown>, changes: StatusChange[]): string {
  const statusChange = changes.find((c) => c.field === 'status');
  switch (type) {
    case 'order.ready':
      return `Order ${String(p.orderNo ?? '')} ready: profile allocated`.replace('  ', ' ');
    case 'order.failed':
      return `Order failed: ${String(p.reason ?? 'unknown reason')}`;
    case 'esim.smdp':
      return SMDP_WORDS[String(p.smdpStatus)] ?? `SM-DP+ status ${String(p.smdpStatus)}`;
    case 'esim.status':
      return statusChange ? `Status ${statusChange.from ?? '?'} → ${statusChange.to}` : `Status ${String(p.esimStatus)}`;
    case 'esim.data_usage': {
      const threshold = Number(p.remainThreshold);
      const usedPercent = Number.isFinite(threshold) ? Math.round((1 - threshold) * 100) : null;
      return usedPercent === null ? 'Data usage alert' : `${usedPercent}% of the data used`;
    }
    case 'esim.validity':
      return `${String(p.remain ?? 1)} day of validity left`;
    default:
      return type;
  }
}

/**
 * An eSIM's life as the console shows it, newest first: its outbox events (and its order's), each with the
 * status change it recorded and its webhook delivery, plus top-ups; and the webhook deliveries with their
 * attempts. Only the partner's own eSIM: the caller has resolved `esim` under the partner.
 */
export async function esimTimeline(db: Kysely<DB>, esim: Pick<Esim, 'id' | 'partner_id' | 'order_id'>): Promise<EsimTimeline> {
  const subjects = [esim.id, esim.order_id];
  const events = await db
    .selectFrom('events')
    .select(['seq', 'id', 'type', 'payload', 'occurred_at'])
    .where('partner_id', '=', esim.partner_id)
    .where('subject', 'in', subjects)
    .orderBy('seq', 'desc')
    .limit(TIMELINE_LIMIT)
    .execute();
  events.reverse();

  const eventIds = events.map((e) => e.id);
  const deliveries = eventIds.length
    ? await db.selectFrom('webhook_deliveries').selectAll().where('partner_id', '=', esim.partner_id).where('event_id', 'in', eventIds).execute()
    : [];
  const deliveryOf = new Map(deliveries.map((d) => [d.event_id, d]));
  const attempts = deliveries.length
    ? await db
        .selectFrom('webhook_attempts')
        .select(['delivery_id', 'attempt_no', 'started_at', 'status_code', 'error', 'latency_ms'])
        .where(
          'delivery_id',
          'in',
          deliveries.map((d) => d.id),
        )
        .orderBy('attempt_no', 'desc')
        .execute()
    : [];

  // Top-ups raise no event of their own; their bundles are the record.
  const topups = await db
    .selectFrom('bundles')
    .select(['id', 'seq', 'package_code', 'created_at'])
    .where('esim_id', '=', esim.id)
    .where('kind', '=', 'TOPUP')
    .orderBy('seq', 'desc')
    .limit(TIMELINE_LIMIT)
    .execute();

  type Item = { sortMs: number; seq: number; event?: (typeof events)[number]; topup?: (typeof topups)[number] };
  const items: Item[] = [
    ...events.map((e) => ({ sortMs: Number(e.occurred_at), seq: Number(e.seq), event: e })),
    // A top-up at the same instant as an event follows it (the top-up request came after).
    ...topups.map((b) => ({ sortMs: Number(b.created_at), seq: Number.MAX_SAFE_INTEGER, topup: b })),
  ];
  items.sort((a, b) => a.sortMs - b.sortMs || a.seq - b.seq);

  // Walk forward so each entry can say what it changed; before the window's first event the status is unknown.
  let status: string | null = null;
  let smdp: string | null = null;
  const entries: TimelineEntry[] = [];
  for (const item of items) {
    const changes: StatusChange[] = [];
    if (item.topup) {
      // A top-up revives a used-up eSIM without an event of its own (src/domain/ordering/topup.ts).
      if (status === 'USED_UP') {
        changes.push({ field: 'status', from: status, to: 'IN_USE' });
        status = 'IN_USE';
      }
      const b = item.topup;
      entries.push({ id: b.id, at: iso(b.created_at)!, type: 'topup.added', summary: `Top-up ${b.package_code} added`, changes, webhook: null });
      continue;
    }
    const e = item.event!;
    const payload = parse(e.payload);
    if (e.type === 'order.ready' && status === null) {
      status = 'GOT_RESOURCE';
      smdp = 'RELEASED';
    }
    if (typeof payload.esimStatus === 'string' && payload.esimStatus !== status) {
      changes.push({ field: 'status', from: status, to: payload.esimStatus });
      status = payload.esimStatus;
    }
    if (typeof payload.smdpStatus === 'string' && payload.smdpStatus !== smdp) {
      changes.push({ field: 'smdp_status', from: smdp, to: payload.smdpStatus });
      smdp = payload.smdpStatus;
    }
    const delivery = deliveryOf.get(e.id);
    entries.push({
      id: e.id,
      at: iso(e.occurred_at)!,
      type: e.type,
      summary: summarize(e.type, payload, changes),
      changes,
      webhook: delivery ? { delivery_id: delivery.id, status: delivery.status, attempts: delivery.attempts, last_status_code: delivery.last_status_code, delivered_at: iso(delivery.delivered_at) } : null,
    });
  }
  entries.reverse();

  const typeOf = new Map(events.map((e) => [e.id, e.type]));
  const attemptsOf = new Map<string, typeof attempts>();
  for (const a of attempts) {
    const list = attemptsOf.get(a.delivery_id) ?? [];
    if (list.length < ATTEMPTS_PER_DELIVERY) list.push(a);
    attemptsOf.set(a.delivery_id, list);
  }
  const webhooks: WebhookHistoryItem[] = deliveries
    .sort((a, b) => Number(b.event_seq) - Number(a.event_seq))
    .map((d) => ({
      id: d.id,
      event_id: d.event_id,
      event_type: typeOf.get(d.event_id) ?? '',
      url: d.url,
      status: d.status,
      attempts: d.attempts,
      last_status_code: d.last_status_code,
      last_error: d.last_error,
      created_at: iso(d.created_at)!,
      delivered_at: iso(d.delivered_at),
      next_attempt_at: d.status === 'pending' || d.status === 'failed' ? iso(d.next_attempt_at) : null,
      attempt_log: (attemptsOf.get(d.id) ?? []).map((a) => ({ attempt_no: a.attempt_no, started_at: iso(a.started_at)!, status_code: a.status_code, error: a.error, latency_ms: Number(a.latency_ms) })),
    }));

  return { object: 'esim_timeline', esim_id: esim.id, entries: entries.slice(0, TIMELINE_LIMIT), webhooks };
}
