import type { Kysely } from 'kysely';
import type { DB } from '../../store/schema.ts';
import { DomainError } from '../errors.ts';

export const USAGE_QUERY_MAX = 10;

/** esim/usage/query: data used and total for up to 10 of the partner's eSIMs, as of the last usage record. */
export async function usageOf(db: Kysely<DB>, partnerId: string, esimTranNos: string[]) {
  if (esimTranNos.length === 0) throw new DomainError('invalid_argument', 'esimTranNoList must hold at least one esimTranNo', { esimAccessCode: '000106' });
  if (esimTranNos.length > USAGE_QUERY_MAX) throw new DomainError('invalid_argument', `esimTranNoList holds at most ${USAGE_QUERY_MAX} entries`, { esimAccessCode: '000107' });
  const rows = await db
    .selectFrom('esims')
    .select(['esim_tran_no', 'order_usage', 'total_volume', 'last_usage_at', 'created_at'])
    .where('partner_id', '=', partnerId)
    .where('esim_tran_no', 'in', esimTranNos)
    .execute();
  const found = new Map(rows.map((r) => [r.esim_tran_no, r]));
  const missing = esimTranNos.filter((n) => !found.has(n));
  if (missing.length) throw new DomainError('esim_not_found', `The esimTranNo ${missing.join(', ')} does not exist`);
  return esimTranNos.map((n) => {
    const r = found.get(n)!;
    return { esimTranNo: n, dataUsage: Number(r.order_usage), totalData: Number(r.total_volume), lastUpdateTimeMs: r.last_usage_at ?? r.created_at };
  });
}
