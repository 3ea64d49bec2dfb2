import type { Transaction } from 'kysely';
import type { DB } from '../../store/schema.ts';
import { consumeData, type UsageOutcome } from '../esims/lifecycle.ts';
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
