import { sql, type Kysely } from 'kysely';
import type { DB } from '../../store/schema.ts';
import { DomainError } from '../errors.ts';
import { runDue } from '../esims/lifecycle.ts';

export const MAX_ADVANCE_MS = 400 * 86_400_000;

/**
 * Moves a sandbox partner's clock forward and fires, in time order, everything that fell due in between
 * (download deadlines, one-day-left warnings, expiries). Clocks only move forward.
 */
export async function advanceClock(db: Kysely<DB>, partnerId: string, byMs: number, realNowMs: number): Promise<{ nowMs: number; offsetMs: number; transitions: number }> {
  if (!Number.isSafeInteger(byMs) || byMs <= 0 || byMs > MAX_ADVANCE_MS) throw new DomainError('invalid_argument', `advance by 1 ms .. 400 days`);
  const partner = await db.selectFrom('partners').select(['environment', 'clock_offset_ms']).where('id', '=', partnerId).executeTakeFirst();
  if (!partner) throw new DomainError('not_found', `partner ${partnerId} does not exist`);
  if (partner.environment !== 'sandbox') throw new DomainError('invalid_state', 'only sandbox partners have a movable clock');
  const updated = await db
    .updateTable('partners')
    .set({ clock_offset_ms: sql`clock_offset_ms + ${byMs}` })
    .where('id', '=', partnerId)
    .returning('clock_offset_ms')
    .executeTakeFirstOrThrow();
  const offsetMs = Number(updated.clock_offset_ms);
  const transitions = await runDue(db, realNowMs, partnerId);
  return { nowMs: realNowMs + offsetMs, offsetMs, transitions };
}

export async function partnerClock(db: Kysely<DB>, partnerId: string, realNowMs: number): Promise<{ nowMs: number; offsetMs: number }> {
  const partner = await db.selectFrom('partners').select(['environment', 'clock_offset_ms']).where('id', '=', partnerId).executeTakeFirst();
  if (!partner) throw new DomainError('not_found', `partner ${partnerId} does not exist`);
  const offsetMs = partner.environment === 'sandbox' ? Number(partner.clock_offset_ms) : 0;
  return { nowMs: realNowMs + offsetMs, offsetMs };
}
