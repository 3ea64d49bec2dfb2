import { sql, type Kysely } from 'kysely';
import type { DB } from '../../store/schema.ts';
import { DomainError } from '../errors.ts';
import { runDue } from '../esims/lifecycle.ts';
import { trafficTick } from './traffic.ts';
import { DAY_MS } from '../../lib/time.ts';

export const MAX_ADVANCE_MS = 400 * 86_400_000;

/**
 * Moves a sandbox partner's clock forward and fires, in time order, everything that fell due in between
 * (download deadlines, one-day-left warnings, expiries). Clocks only move forward.
 */
export async function advanceClock(db: Kysely<DB>, partnerId: string, byMs: number, realNowMs: number): Promise<{ nowMs: number; offsetMs: number; transitions: number }> {
  if (!Number.isSafeInteger(byMs) || byMs <= 0 || byMs > MAX_ADVANCE_MS) throw new DomainError('invalid_argument', `advance by 1 ms .. 400 days`);
  const partner = await db.selectFrom('partners').select(['environment', 'clock_offset_ms', 'traffic_mode']).where('id', '=', partnerId).executeTakeFirst();
  if (!partner) throw new DomainError('not_found', `partner ${partnerId} does not exist`);
  if (partner.environment !== 'sandbox') throw new DomainError('invalid_state', 'only sandbox partners have a movable clock');
  // With traffic on, the clock moves a day at a time and the eSIMs live each day before what falls due in
  // it fires, so usage, depletion, warnings and expiry come in the order they would have in real time.
  const stepMs = partner.traffic_mode === 1 ? DAY_MS : byMs;
  let offsetMs = Number(partner.clock_offset_ms);
  let transitions = 0;
  for (let moved = 0; moved < byMs; moved += stepMs) {
    const step = Math.min(stepMs, byMs - moved);
    const updated = await db
      .updateTable('partners')
      .set({ clock_offset_ms: sql`clock_offset_ms + ${step}` })
      .where('id', '=', partnerId)
      .returning('clock_offset_ms')
      .executeTakeFirstOrThrow();
    offsetMs = Number(updated.clock_offset_ms);
    if (partner.traffic_mode === 1) await trafficTick(db, realNowMs, partnerId);
    transitions += await runDue(db, realNowMs, partnerId);
  }
  return { nowMs: realNowMs + offsetMs, offsetMs, transitions };
}

export async function partnerClock(db: Kysely<DB>, partnerId: string, realNowMs: number): Promise<{ nowMs: number; offsetMs: number }> {
  const partner = await db.selectFrom('partners').select(['environment', 'clock_offset_ms']).where('id', '=', partnerId).executeTakeFirst();
  if (!partner) throw new DomainError('not_found', `partner ${partnerId} does not exist`);
  const offsetMs = partner.environment === 'sandbox' ? Number(partner.clock_offset_ms) : 0;
  return { nowMs: realNowMs + offsetMs, offsetMs };
}
