import type { Kysely } from 'kysely';
import type { DB, PackageTable } from '../../store/schema.ts';
import { poolStock } from '../pools/stock.ts';
import { quantile } from '../../lib/stats.ts';

const DAY_MS = 24 * 3600_000;
/** The window of recent latencies (the same as /metrics). */
const RECENT_MS = 5 * 60_000;
/** A queued job this far past its run time means the workers are behind (or not running). */
const OVERDUE_MS = 60_000;

type Health = 'ok' | 'warning' | 'down' | 'unused';

function quantiles(values: number[]) {
  const sorted = [...values].sort((a, b) => a - b);
  return { count: sorted.length, p50_ms: quantile(sorted, 0.5), p90_ms: quantile(sorted, 0.9), p99_ms: quantile(sorted, 0.99) };
}

const n = (value: unknown) => Number(value ?? 0);

export interface OverviewOptions {
  nowMs: number;
  /**
   * Which profile source serves a live package (the supply router's answer), so supply health reports the
   * sources actually in use rather than a guess.
   */
  liveSourceOf(pkg: PackageTable): string;
}

/** Everything the operator's overview shows, read from the store in one pass of grouped queries. */
export async function operatorOverview(db: Kysely<DB>, options: OverviewOptions) {
  const { nowMs } = options;
  const since = nowMs - DAY_MS;
  const partners = await db.selectFrom('partners').select(['environment', 'status', (eb) => eb.fn.countAll<number | string>().as('n')]).groupBy(['environment', 'status']).execute();
  const esims = await db.selectFrom('esims').select(['environment', 'esim_status', (eb) => eb.fn.countAll<number | string>().as('n')]).groupBy(['environment', 'esim_status']).execute();
  const orders = await db
    .selectFrom('orders')
    .select(['environment', 'status', 'currency', (eb) => eb.fn.countAll<number | string>().as('n'), (eb) => eb.fn.sum<number | string | null>('amount').as('amount')])
    .where('created_at', '>=', since)
    .groupBy(['environment', 'status', 'currency'])
    .execute();
  const allocated = await db
    .selectFrom('orders')
    .select(['environment', 'created_at', 'completed_at'])
    .where('completed_at', '>=', nowMs - RECENT_MS)
    .where('status', '=', 'ready')
    .orderBy('completed_at', 'desc')
    .limit(20_000)
    .execute();
  const failures = await db
    .selectFrom('orders')
    .select(['environment', 'failure_reason', (eb) => eb.fn.countAll<number | string>().as('n')])
    .where('created_at', '>=', since)
    .where('status', '=', 'failed')
    .groupBy(['environment', 'failure_reason'])
    .execute();
  const jobs = await db.selectFrom('jobs').select(['kind', 'status', (eb) => eb.fn.countAll<number | string>().as('n'), (eb) => eb.fn.min('run_at').as('oldest')]).where('status', 'in', ['queued', 'failed']).groupBy(['kind', 'status']).execute();
  const overdue = await db.selectFrom('jobs').select((eb) => eb.fn.countAll<number | string>().as('n')).where('status', '=', 'queued').where('run_at', '<', nowMs - OVERDUE_MS).executeTakeFirstOrThrow();
  const deliveries = await db
    .selectFrom('webhook_deliveries')
    .select(['status', (eb) => eb.fn.countAll<number | string>().as('n'), (eb) => eb.fn.min('created_at').as('oldest')])
    .where('status', 'in', ['pending', 'failed', 'dead'])
    .groupBy('status')
    .execute();
  const delivered = await db
    .selectFrom('webhook_deliveries')
    .select(['created_at', 'delivered_at'])
    .where('delivered_at', '>=', nowMs - RECENT_MS)
    .where('status', '=', 'delivered')
    .orderBy('delivered_at', 'desc')
    .limit(20_000)
    .execute();
  const failedAttempts = await db
    .selectFrom('webhook_attempts')
    .select((eb) => eb.fn.countAll<number | string>().as('n'))
    .where('started_at', '>=', since)
    .where((eb) => eb.or([eb('status_code', 'is', null), eb('status_code', '<', 200), eb('status_code', '>=', 300)]))
    .executeTakeFirstOrThrow();
  const deposits = await db
    .selectFrom('deposit_requests')
    .select(['currency', (eb) => eb.fn.countAll<number | string>().as('n'), (eb) => eb.fn.sum<number | string | null>('amount_minor').as('amount'), (eb) => eb.fn.min('created_at').as('oldest')])
    .where('status', '=', 'pending')
    .groupBy('currency')
    .execute();
  const pools = await poolStock(db);
  const packageSupply = await db
    .selectFrom('packages')
    .select(['supply', (eb) => eb.fn.countAll<number | string>().as('n'), (eb) => eb.fn.min('package_code').as('sample')])
    .where('status', '=', 'active')
    .where('type', '=', 'BASE')
    .groupBy('supply')
    .execute();
  const samples = packageSupply.length
    ? await db.selectFrom('packages').selectAll().where('package_code', 'in', packageSupply.map((s) => String(s.sample))).execute()
    : [];

  const sum = <T>(rows: T[], pick: (row: T) => boolean) => rows.filter(pick).reduce((total, row) => total + n((row as { n: unknown }).n), 0);

  // ---- orders and allocation ------------------------------------------------------------------------------
  const ordersBy = (environment: 'sandbox' | 'live') => {
    const rows = orders.filter((o) => o.environment === environment);
    const byStatus = { allocating: 0, ready: 0, failed: 0 } as Record<string, number>;
    for (const row of rows) byStatus[row.status] = (byStatus[row.status] ?? 0) + n(row.n);
    const amounts = new Map<string, number>();
    for (const row of rows) if (row.status !== 'failed') amounts.set(row.currency, (amounts.get(row.currency) ?? 0) + n(row.amount));
    return {
      total: rows.reduce((t, r) => t + n(r.n), 0),
      by_status: byStatus,
      amount_by_currency: [...amounts].map(([currency, amount_minor]) => ({ currency, amount_minor })),
    };
  };
  const allocationLatency = (environment: 'sandbox' | 'live') => quantiles(allocated.filter((o) => o.environment === environment).map((o) => n(o.completed_at) - n(o.created_at)));
  const failureReasons = (environment: 'sandbox' | 'live') =>
    failures
      .filter((f) => f.environment === environment)
      .map((f) => ({ reason: f.failure_reason ?? 'unknown', count: n(f.n) }))
      .sort((a, b) => b.count - a.count)
      .slice(0, 5);

  // ---- supply health ---------------------------------------------------------------------------------------
  const sandboxOrders = ordersBy('sandbox');
  const liveOrders = ordersBy('live');
  const lowPools = pools.filter((p) => p.low);
  const sources = new Map<string, { supplies: string[]; packages: number }>();
  for (const row of packageSupply) {
    const sample = samples.find((p) => p.package_code === String(row.sample));
    const source = sample ? options.liveSourceOf(sample) : 'unknown';
    const entry = sources.get(source) ?? { supplies: [], packages: 0 };
    entry.supplies.push(row.supply);
    entry.packages += n(row.n);
    sources.set(source, entry);
  }
  const rate = (failed: number, total: number) => (total ? failed / total : 0);
  const healthOf = (failed: number, total: number): Health => (total === 0 ? 'unused' : rate(failed, total) >= 0.5 ? 'down' : failed > 0 ? 'warning' : 'ok');
  const poolEntry = sources.get('pool');
  const liveActive = sum(partners, (p) => p.environment === 'live' && p.status === 'active');
  const poolHealth = (): Health => {
    const failed = liveOrders.by_status.failed ?? 0;
    if (pools.length === 0) return liveOrders.total ? 'down' : liveActive > 0 ? 'warning' : 'unused';
    if (pools.every((p) => p.available === 0) || rate(failed, liveOrders.total) >= 0.5) return 'down';
    return lowPools.length || failed > 0 ? 'warning' : 'ok';
  };
  const upstream = [...sources].filter(([source]) => source !== 'pool').map(([source, entry]) => ({ source, ...entry }));
  const supply = [
    {
      id: 'simulated',
      name: 'Simulated SM-DP+ (sandbox)',
      status: healthOf(sandboxOrders.by_status.failed ?? 0, sandboxOrders.total),
      detail: 'Serves every sandbox order.',
      orders_24h: sandboxOrders.by_status,
      allocation_latency: allocationLatency('sandbox'),
      failure_reasons: failureReasons('sandbox'),
    },
    {
      id: 'pool',
      name: 'Imported profile pools (live)',
      status: poolHealth(),
      detail: `${pools.length} pool(s), ${pools.reduce((t, p) => t + p.available, 0)} profile(s) available, ${lowPools.length} low; serves ${poolEntry?.packages ?? 0} active live package(s).${pools.length === 0 && liveActive > 0 ? ' Live partners cannot order until profiles are imported.' : ''}`,
      orders_24h: liveOrders.by_status,
      allocation_latency: allocationLatency('live'),
      failure_reasons: failureReasons('live'),
    },
    {
      id: 'upstream',
      name: 'Upstream providers (live)',
      status: 'unused' as Health,
      detail: upstream.length
        ? upstream.map((u) => `${u.source}: ${u.packages} package(s) (${u.supplies.join(', ')})`).join('; ')
        : 'No upstream provider is configured: live packages are fulfilled from imported pools.',
      orders_24h: null,
      allocation_latency: null,
      failure_reasons: [],
    },
  ];

  // ---- webhooks ---------------------------------------------------------------------------------------------
  const deliveryCount = (status: string) => n(deliveries.find((d) => d.status === status)?.n);
  const backlogOldest = deliveries.filter((d) => d.status === 'pending' || d.status === 'failed').map((d) => n(d.oldest)).filter((v) => v > 0);
  const lag = quantiles(delivered.map((d) => n(d.delivered_at) - n(d.created_at)));

  return {
    generated_at: nowMs,
    partners: {
      total: sum(partners, () => true),
      sandbox: sum(partners, (p) => p.environment === 'sandbox'),
      live: sum(partners, (p) => p.environment === 'live'),
      active: sum(partners, (p) => p.status === 'active'),
      suspended: sum(partners, (p) => p.status === 'suspended'),
    },
    esims: {
      total: sum(esims, () => true),
      sandbox: sum(esims, (e) => e.environment === 'sandbox'),
      live: sum(esims, (e) => e.environment === 'live'),
      by_status: Object.fromEntries([...new Set(esims.map((e) => e.esim_status))].sort().map((status) => [status, sum(esims, (e) => e.esim_status === status)])) as Record<string, number>,
    },
    orders_24h: { sandbox: sandboxOrders, live: liveOrders },
    jobs: {
      queued: sum(jobs, (j) => j.status === 'queued'),
      failed: sum(jobs, (j) => j.status === 'failed'),
      overdue: n(overdue.n),
      by_kind: [...new Set(jobs.map((j) => j.kind))].sort().map((kind) => ({ kind, queued: sum(jobs, (j) => j.kind === kind && j.status === 'queued'), failed: sum(jobs, (j) => j.kind === kind && j.status === 'failed') })),
    },
    webhooks: {
      pending: deliveryCount('pending'),
      failed: deliveryCount('failed'),
      dead: deliveryCount('dead'),
      oldest_backlog_at: backlogOldest.length ? Math.min(...backlogOldest) : null,
      lag_5m: lag,
      failed_attempts_24h: n(failedAttempts.n),
    },
    deposits: {
      pending: sum(deposits, () => true),
      oldest_at: deposits.length ? Math.min(...deposits.map((d) => n(d.oldest))) : null,
      amount_by_currency: deposits.map((d) => ({ currency: d.currency, amount_minor: n(d.amount) })),
    },
    low_stock: lowPools.map((p) => ({ pool: p.pool, available: p.available, threshold: p.low_stock_threshold })),
    supply,
  };
}
