import { randomInt } from 'node:crypto';
import type { Kysely, Transaction } from 'kysely';
import type { DB } from '../../store/schema.ts';
import { applyDeviceEvent, consumeData, type UsageOutcome } from '../esims/lifecycle.ts';
import { newId } from '../../lib/ids.ts';

/**
 * Data used on the simulated network: applied to the eSIM and recorded as a usage record, as a supplier's
 * usage feed would be (so usage history and the console's charts see sandbox use too).
 */
export async function simulateDataUse(trx: Transaction<DB>, esimId: string, bytes: number, atMs: number): Promise<UsageOutcome> {
  const outcome = await consumeData(trx, esimId, bytes, atMs, true);
  if (outcome.grantedBytes > 0) {
    await trx.insertInto('usage_records').values({ record_key: `sbx:${newId('use', atMs)}`, esim_id: esimId, bytes: outcome.grantedBytes, period_start: null, period_end: atMs, source: 'sandbox', received_at: atMs }).execute();
  }
  return outcome;
}

/**
 * Traffic mode: sandbox eSIMs of partners who switched it on live realistic lives by themselves. Each tick
 * a few new profiles get installed and enabled, and enabled ones use some data (up to 64 MB).
 */
export async function trafficTick(db: Kysely<DB>, realNowMs: number): Promise<number> {
  const candidates = await db
    .selectFrom('esims')
    .innerJoin('partners', 'partners.id', 'esims.partner_id')
    .select(['esims.id', 'esims.smdp_status', 'esims.esim_status', 'partners.clock_offset_ms'])
    .where('partners.traffic_mode', '=', 1)
    .where('partners.environment', '=', 'sandbox')
    .where('esims.esim_status', 'in', ['GOT_RESOURCE', 'IN_USE'])
    .where('esims.smdp_status', 'in', ['RELEASED', 'INSTALLATION', 'ENABLED'])
    .orderBy('esims.updated_at')
    .limit(20)
    .execute();
  let actions = 0;
  for (const esim of candidates) {
    const atMs = realNowMs + Number(esim.clock_offset_ms);
    try {
      if (esim.smdp_status === 'RELEASED') {
        await applyDeviceEvent(db, esim.id, { kind: 'install' }, atMs);
      } else if (esim.smdp_status === 'INSTALLATION') {
        await applyDeviceEvent(db, esim.id, { kind: 'enable' }, atMs);
      } else {
        const bytes = randomInt(1, 64) * 1024 * 1024;
        await db.transaction().execute((trx) => simulateDataUse(trx, esim.id, bytes, atMs));
      }
      actions++;
    } catch {
      // A state that changed under us (the partner acted at the same moment): the next tick looks again.
    }
  }
  return actions;
}
