import type { Kysely, Transaction } from 'kysely';
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
  return id;
}
