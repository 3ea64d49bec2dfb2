import { sql, type Kysely, type Transaction } from 'kysely';
import type { DB } from '../../store/schema.ts';
import { newId } from '../../lib/ids.ts';

/**
 * Domain events, written in the same transaction as the change that caused them (transactional outbox).
 * The payload is dialect-neutral; each dialect renders it for the partner when it is delivered.
 */
export type EventType =
  | 'order.ready'
  | 'order.failed'
  | 'esim.smdp'
  | 'esim.status'
  | 'esim.data_usage'
  | 'esim.validity'
  | 'balance.low';

export async function emitEvent(
  db: Kysely<DB> | Transaction<DB>,
  event: { partnerId: string; type: EventType; subject: string | null; payload: Record<string, unknown> },
  nowMs: number,
  occurredAtMs: number = nowMs,
): Promise<string> {
  const id = newId('evt', nowMs);
  await db
    .insertInto('events')
    .values({ id, partner_id: event.partnerId, type: event.type, subject: event.subject, payload: JSON.stringify(event.payload), occurred_at: occurredAtMs, created_at: nowMs })
    .execute();
  // The webhook delivery is part of the same transaction: one INSERT … SELECT, which adds nothing when the
  // partner has no endpoint (and never for operator alerts, which belong to no partner row).
  const queuedAtMs = Math.min(nowMs, Date.now());
  const queued = await db
    .insertInto('webhook_deliveries')
    .columns(['id', 'event_id', 'event_seq', 'partner_id', 'subject', 'url', 'status', 'attempts', 'next_attempt_at', 'cycle_started_at', 'cycle_attempts', 'created_at', 'updated_at'])
    .expression((eb) =>
      eb
        .selectFrom('events')
        .innerJoin('partners', 'partners.id', 'events.partner_id')
        .select([
          sql<string>`${newId('whd', nowMs)}`.as('id'),
          'events.id as event_id',
          'events.seq as event_seq',
          'events.partner_id as partner_id',
          'events.subject as subject',
          sql<string>`partners.webhook_url`.as('url'),
          sql<string>`${'pending'}`.as('status'),
          sql<number>`0`.as('attempts'),
          sql<number>`cast(${queuedAtMs} as bigint)`.as('next_attempt_at'),
          sql<number>`cast(${queuedAtMs} as bigint)`.as('cycle_started_at'),
          sql<number>`0`.as('cycle_attempts'),
          sql<number>`cast(${queuedAtMs} as bigint)`.as('created_at'),
          sql<number>`cast(${queuedAtMs} as bigint)`.as('updated_at'),
        ])
        .where('events.id', '=', id)
        .where('events.partner_id', '<>', OPERATOR_PARTNER)
        .where('partners.webhook_url', 'is not', null)
        .where('partners.webhook_url', '<>', ''),
    )
    .executeTakeFirst();
  if (Number(queued.numInsertedOrUpdatedRows ?? 0n) > 0) for (const listener of deliveryListeners) listener();
  return id;
}

/** Events of this pseudo-partner are operator alerts: never delivered to a webhook. */
const OPERATOR_PARTNER = 'operator';

const deliveryListeners = new Set<() => void>();

/**
 * Called (inside the writer's transaction, before it commits) whenever emitEvent queued a webhook
 * delivery, so an in-process dispatcher can look at once instead of at its next poll. Returns an unsubscribe.
 */
export function onDeliveryQueued(listener: () => void): () => void {
  deliveryListeners.add(listener);
  return () => deliveryListeners.delete(listener);
}
