import { sql, type Kysely } from 'kysely';
import type { DB, EsimStatus } from '../../store/schema.ts';
import { walletBalance } from '../ledger/ledger.ts';

const DAY_MS = 86_400_000;
export const DASHBOARD_DAYS = 30;

/** eSIMs that can still be installed or used; the rest are cancelled, revoked, used up or expired. */
export const ACTIVE_ESIM_STATUSES: EsimStatus[] = ['GOT_RESOURCE', 'IN_USE', 'SUSPENDED'];

export interface DailyPoint {
  /** YYYY-MM-DD (UTC). */
  date: string;
  value: number;
}

export interface Dashboard {
  balance: number;
  currency: string;
  /** Charges minus refunds over the window. */
  spend: number;
  active_esims: number;
  /** First instant of the window (UTC midnight) and the partner's now. */
  since: string;
  now: string;
  orders_per_day: DailyPoint[];
  data_used_per_day: DailyPoint[];
}

/**
 * A partner's dashboard over the last DASHBOARD_DAYS UTC days up to `nowMs` (the partner's clock). Every
 * query is bounded by an index on (partner_id, time) or, for usage, the partner's eSIMs joined to
 * usage_records(esim_id, received_at); days are grouped in SQL by integer division, which SQLite and
 * PostgreSQL both do on integers.
 */
export async function dashboardOf(db: Kysely<DB>, partnerId: string, nowMs: number): Promise<Dashboard> {
  const todayStart = Math.floor(nowMs / DAY_MS) * DAY_MS;
  const since = todayStart - (DASHBOARD_DAYS - 1) * DAY_MS;
  const until = todayStart + DAY_MS;
  // Literals, not parameters: a parameter may bind as a float in SQLite and turn the division fractional.
  const day = (column: string) => sql<number>`(${sql.ref(column)} - ${sql.lit(since)}) / ${sql.lit(DAY_MS)}`;

  const [balance, ledger, active, orders, usage] = await Promise.all([
    walletBalance(db, partnerId),
    db
      .selectFrom('ledger_transfers')
      .select(['kind', sql<number>`sum(amount)`.as('total')])
      .where('partner_id', '=', partnerId)
      .where('created_at', '>=', since)
      .where('created_at', '<', until)
      .where('kind', 'in', ['charge', 'refund'])
      .groupBy('kind')
      .execute(),
    db
      .selectFrom('esims')
      .select(sql<number>`count(*)`.as('n'))
      .where('partner_id', '=', partnerId)
      .where('esim_status', 'in', ACTIVE_ESIM_STATUSES)
      .executeTakeFirstOrThrow(),
    db
      .selectFrom('orders')
      .select([day('created_at').as('d'), sql<number>`count(*)`.as('n')])
      .where('partner_id', '=', partnerId)
      .where('created_at', '>=', since)
      .where('created_at', '<', until)
      .where('kind', '=', 'order')
      .where('status', '!=', 'failed')
      .groupBy(sql`1`)
      .execute(),
    db
      .selectFrom('usage_records')
      .innerJoin('esims', 'esims.id', 'usage_records.esim_id')
      .select([day('usage_records.received_at').as('d'), sql<number>`sum(usage_records.bytes)`.as('n')])
      .where('esims.partner_id', '=', partnerId)
      .where('usage_records.received_at', '>=', since)
      .where('usage_records.received_at', '<', until)
      .groupBy(sql`1`)
      .execute(),
  ]);

  const series = (rows: Array<{ d: unknown; n: unknown }>): DailyPoint[] => {
    const values = new Array<number>(DASHBOARD_DAYS).fill(0);
    for (const r of rows) {
      const i = Number(r.d);
      if (i >= 0 && i < DASHBOARD_DAYS) values[i] += Number(r.n);
    }
    return values.map((value, i) => ({ date: new Date(since + i * DAY_MS).toISOString().slice(0, 10), value }));
  };
  const sumOf = (kind: string) => Number(ledger.find((r) => r.kind === kind)?.total ?? 0);

  return {
    balance: balance.balanceMinor,
    currency: balance.currency,
    spend: sumOf('charge') - sumOf('refund'),
    active_esims: Number(active.n),
    since: new Date(since).toISOString(),
    now: new Date(nowMs).toISOString(),
    orders_per_day: series(orders),
    data_used_per_day: series(usage),
  };
}
