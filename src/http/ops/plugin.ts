import type { FastifyInstance, FastifyRequest } from 'fastify';
import client from 'prom-client';
import { sql } from 'kysely';
import type { AppContext } from '../../context.ts';
import { pendingMigrations, type Store } from '../../store/connect.ts';
import { quantile } from '../../lib/stats.ts';

/** Which wire dialect a route belongs to (a label of the request metrics). */
export function dialectOfRoute(route: string): string {
  if (route.startsWith('/api/v1/open')) return 'esimaccess';
  if (/^\/v2(\.\d+)?\//.test(route)) return 'esimgo';
  if (route.startsWith('/api/v1/')) return 'dataplans';
  if (route.startsWith('/v1/')) return 'native';
  if (route.startsWith('/sandbox')) return 'sandbox';
  if (route.startsWith('/internal')) return 'internal';
  if (route === '/healthz' || route === '/readyz' || route === '/metrics') return 'ops';
  return 'other';
}

const WINDOW_MS = 5 * 60_000;
/** Rows read for the latency quantiles: the latest of the window (enough for a p99). */
const SAMPLE_LIMIT = 20_000;

/**
 * Operations endpoints:
 * - `GET /healthz`: the process is alive (no database access).
 * - `GET /readyz`: the database answers and every migration is applied; 503 otherwise (load balancers
 *   route only to ready processes).
 * - `GET /metrics`: Prometheus text. Per process: request latency by route, method, status and dialect;
 *   Node.js process metrics. From the store, computed on scrape (the same in every process, so take them
 *   from any one), each by a query bounded by recent activity or backlog (see readStoreFigures): orders
 *   completed in the last 5 minutes and open, allocation latency and webhook lag over the last 5 minutes, job
 *   queue depth, undelivered webhook deliveries by status, ledger totals by flow and currency.
 */
export async function opsPlugin(app: FastifyInstance, options: { ctx: AppContext }): Promise<void> {
  const { ctx } = options;
  const registry = new client.Registry();
  client.collectDefaultMetrics({ register: registry, prefix: 'esimhub_' });

  const requestDuration = new client.Histogram({
    name: 'esimhub_http_request_duration_seconds',
    help: 'HTTP request latency by route and dialect',
    labelNames: ['method', 'route', 'dialect', 'status_code'] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  // One labelled child per (method, route, status), made once: the hot path then only adds to buckets.
  const children = new Map<string, client.Histogram.Internal<'method' | 'route' | 'dialect' | 'status_code'>>();
  app.addHook('onResponse', (request: FastifyRequest, reply, done) => {
    const route = request.routeOptions?.url ?? 'unmatched';
    const key = `${request.method} ${route} ${reply.statusCode}`;
    let child = children.get(key);
    if (!child) {
      child = requestDuration.labels({ method: request.method, route, dialect: dialectOfRoute(route), status_code: String(reply.statusCode) });
      if (children.size < 5000) children.set(key, child);
    }
    child.observe(reply.elapsedTime / 1000);
    done();
  });

  // Store-derived values, read at most once per second however often (and by however many) scraped.
  let cache: { at: number; data: Promise<StoreFigures> } | null = null;
  const figures = (): Promise<StoreFigures> => {
    const now = Date.now();
    if (!cache || now - cache.at > 1000) {
      cache = { at: now, data: readStoreFigures(ctx, now) };
      cache.data.catch(() => (cache = null));
    }
    return cache.data;
  };

  new client.Gauge({
    name: 'esimhub_orders_completed',
    help: 'Orders completed (ready or failed) in the last 5 minutes, by kind and status',
    labelNames: ['kind', 'status'] as const,
    registers: [registry],
    async collect() {
      const f = await figures();
      this.reset();
      for (const o of f.ordersCompleted) this.set({ kind: o.kind, status: o.status }, o.n);
    },
  });
  new client.Gauge({
    name: 'esimhub_orders_open',
    help: 'Orders placed and not completed yet (allocating), by kind',
    labelNames: ['kind'] as const,
    registers: [registry],
    async collect() {
      const f = await figures();
      this.reset();
      for (const o of f.ordersOpen) this.set({ kind: o.kind }, o.n);
    },
  });
  new client.Gauge({
    name: 'esimhub_allocation_latency_seconds',
    help: 'Order placed to allocated, over orders (kind order) allocated in the last 5 minutes',
    labelNames: ['quantile'] as const,
    registers: [registry],
    async collect() {
      const f = await figures();
      this.reset();
      for (const [q, v] of Object.entries(f.allocation)) if (v !== null) this.set({ quantile: q }, v / 1000);
    },
  });
  new client.Gauge({
    name: 'esimhub_job_queue_depth',
    help: 'Queued jobs by kind (due now or later)',
    labelNames: ['kind'] as const,
    registers: [registry],
    async collect() {
      const f = await figures();
      this.reset();
      for (const j of f.jobs) this.set({ kind: j.kind }, j.n);
    },
  });
  new client.Gauge({
    name: 'esimhub_webhook_lag_seconds',
    help: 'Event to delivered, over webhooks delivered in the last 5 minutes',
    labelNames: ['quantile'] as const,
    registers: [registry],
    async collect() {
      const f = await figures();
      this.reset();
      for (const [q, v] of Object.entries(f.webhookLag)) if (v !== null) this.set({ quantile: q }, v / 1000);
    },
  });
  new client.Gauge({
    name: 'esimhub_webhook_delivered_recent',
    help: 'Webhooks delivered in the last 5 minutes',
    registers: [registry],
    async collect() {
      this.set((await figures()).deliveredRecent);
    },
  });
  new client.Gauge({
    name: 'esimhub_webhook_oldest_pending_seconds',
    help: 'Age of the oldest webhook delivery not yet delivered (pending or failed)',
    registers: [registry],
    async collect() {
      const f = await figures();
      this.set(f.oldestPendingMs === null ? 0 : Math.max(0, Date.now() - f.oldestPendingMs) / 1000);
    },
  });
  new client.Gauge({
    name: 'esimhub_webhook_deliveries',
    help: 'Webhook deliveries not delivered: pending (not tried yet), failed (last attempt failed, retry due), dead (given up)',
    labelNames: ['status'] as const,
    registers: [registry],
    async collect() {
      const f = await figures();
      for (const status of OPEN_DELIVERY) this.set({ status }, f.deliveries[status]);
    },
  });
  new client.Gauge({
    name: 'esimhub_ledger_amount',
    help: 'Ledger totals in 1/10,000 of the currency: charged, refunded, funded (deposits and crediting adjustments), withdrawn (withdrawals and debiting adjustments), wallet_balance',
    labelNames: ['flow', 'currency'] as const,
    registers: [registry],
    async collect() {
      const f = await figures();
      this.reset();
      for (const l of f.ledger) for (const flow of LEDGER_FLOWS) this.set({ flow, currency: l.currency }, l[flow]);
    },
  });

  app.get('/healthz', async () => ({ status: 'ok' }));

  app.get('/readyz', async (_request, reply) => {
    const check = await checkDatabase(ctx.store, ctx.config.readyCheckTimeoutMs);
    if (!check.reachable) return reply.code(503).send({ status: 'unavailable', database: 'unreachable', error: check.error });
    if (check.pendingMigrations.length) return reply.code(503).send({ status: 'unavailable', database: 'ok', pendingMigrations: check.pendingMigrations });
    return { status: 'ready', database: 'ok', store: ctx.store.dialect, role: ctx.config.role };
  });

  app.get('/metrics', async (_request, reply) => {
    try {
      const text = await registry.metrics();
      return reply.header('content-type', registry.contentType).send(text);
    } catch (error) {
      ctx.log.error({ err: error }, 'metrics scrape failed');
      return reply.code(503).header('content-type', 'text/plain').send(`# metrics unavailable: ${(error as Error).message}\n`);
    }
  });
}

export type DatabaseCheck =
  | { reachable: true; latencyMs: number; pendingMigrations: string[] }
  | { reachable: false; error: string };

/**
 * The readiness check of /readyz and the operator console: the database answers `select 1` and every migration
 * is applied. Bounded by timeoutMs because pg neither times out a query nor a connection attempt: on a
 * black-holed connection it would wait forever, and a probe that hangs tells a load balancer nothing.
 */
export async function checkDatabase(store: Store, timeoutMs: number): Promise<DatabaseCheck> {
  const check = async () => {
    const started = performance.now();
    await sql`select 1`.execute(store.db);
    const latencyMs = Math.round((performance.now() - started) * 10) / 10;
    return { reachable: true as const, latencyMs, pendingMigrations: await pendingMigrations(store) };
  };
  try {
    return await withinMs(check(), timeoutMs, 'database check');
  } catch (error) {
    return { reachable: false, error: (error as Error).message };
  }
}

/**
 * Rejects after timeoutMs if work has not settled. The abandoned work cannot be cancelled (its pool client
 * stays busy until pg gives up); its later failure is caught here so it never surfaces as an unhandled rejection.
 */
function withinMs<T>(work: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} timed out after ${timeoutMs} ms`)), timeoutMs);
  });
  work.catch(() => {});
  return Promise.race([work, timedOut]).finally(() => clearTimeout(timer));
}

// Not encapsulated (what fastify-plugin does): the onResponse hook must see every route of the server.
(opsPlugin as unknown as Record<symbol, boolean>)[Symbol.for('skip-override')] = true;

const OPEN_DELIVERY = ['pending', 'failed', 'dead'] as const;
const LEDGER_FLOWS = ['charged', 'refunded', 'funded', 'withdrawn', 'wallet_balance'] as const;

interface StoreFigures {
  ordersCompleted: Array<{ kind: string; status: string; n: number }>;
  ordersOpen: Array<{ kind: string; n: number }>;
  allocation: Record<string, number | null>;
  jobs: Array<{ kind: string; n: number }>;
  webhookLag: Record<string, number | null>;
  deliveredRecent: number;
  oldestPendingMs: number | null;
  deliveries: Record<(typeof OPEN_DELIVERY)[number], number>;
  ledger: Array<{ currency: string } & Record<(typeof LEDGER_FLOWS)[number], number>>;
}

/**
 * Every query is bounded by recent activity or by backlog, never by history: completed orders and delivered
 * webhooks over the window (indexes on completed_at, delivered_at), open orders (completed_at is null), queued
 * jobs and open deliveries (indexes led by status), and ledger totals from the accounts' running totals
 * (debits_posted, credits_posted, kept in each transfer's transaction: three rows per partner and currency),
 * not from the transfers.
 */
async function readStoreFigures(ctx: AppContext, nowMs: number): Promise<StoreFigures> {
  const db = ctx.store.db;
  const since = nowMs - WINDOW_MS;
  const [completed, open, jobs, delivered, deliveredRecent, backlog, pending, accounts] = await Promise.all([
    db
      .selectFrom('orders')
      .select(['kind', 'status', 'created_at', 'completed_at'])
      .where('completed_at', '>=', since)
      .orderBy('completed_at', 'desc')
      .limit(SAMPLE_LIMIT)
      .execute(),
    db.selectFrom('orders').select(['kind', (eb) => eb.fn.countAll().as('n')]).where('completed_at', 'is', null).groupBy('kind').execute(),
    db.selectFrom('jobs').select(['kind', (eb) => eb.fn.countAll().as('n')]).where('status', '=', 'queued').groupBy('kind').execute(),
    db
      .selectFrom('webhook_deliveries')
      .select(['created_at', 'delivered_at'])
      .where('delivered_at', '>=', since)
      .where('status', '=', 'delivered')
      .orderBy('delivered_at', 'desc')
      .limit(SAMPLE_LIMIT)
      .execute(),
    db.selectFrom('webhook_deliveries').select((eb) => eb.fn.countAll().as('n')).where('delivered_at', '>=', since).where('status', '=', 'delivered').executeTakeFirst(),
    db.selectFrom('webhook_deliveries').select(['status', (eb) => eb.fn.countAll().as('n')]).where('status', 'in', [...OPEN_DELIVERY]).groupBy('status').execute(),
    db.selectFrom('webhook_deliveries').select((eb) => eb.fn.min('created_at').as('oldest')).where('status', 'in', ['pending', 'failed']).executeTakeFirst(),
    db
      .selectFrom('ledger_accounts')
      .select(['kind', 'currency', (eb) => eb.fn.sum('debits_posted').as('debits'), (eb) => eb.fn.sum('credits_posted').as('credits')])
      .groupBy(['kind', 'currency'])
      .execute(),
  ]);
  const allocationMs = completed
    .filter((o) => o.kind === 'order' && o.status === 'ready')
    .map((o) => Number(o.completed_at) - Number(o.created_at))
    .sort((a, b) => a - b);
  const lagMs = delivered.map((d) => Number(d.delivered_at) - Number(d.created_at)).sort((a, b) => a - b);
  const quantiles = (sorted: number[]) => ({ '0.5': quantile(sorted, 0.5), '0.9': quantile(sorted, 0.9), '0.99': quantile(sorted, 0.99) });
  const ordersCompleted = new Map<string, { kind: string; status: string; n: number }>();
  for (const o of completed) {
    const key = `${o.kind} ${o.status}`;
    const entry = ordersCompleted.get(key) ?? { kind: o.kind, status: o.status, n: 0 };
    entry.n++;
    ordersCompleted.set(key, entry);
  }
  const deliveries = { pending: 0, failed: 0, dead: 0 };
  for (const b of backlog) deliveries[b.status as keyof typeof deliveries] = Number(b.n);
  // Per currency, from the accounts a transfer moves money between (src/domain/ledger/ledger.ts): charges credit
  // revenue, refunds debit it; deposits debit funding, withdrawals credit it.
  const ledger = new Map<string, StoreFigures['ledger'][number]>();
  for (const a of accounts) {
    const entry = ledger.get(a.currency) ?? { currency: a.currency, charged: 0, refunded: 0, funded: 0, withdrawn: 0, wallet_balance: 0 };
    const debits = Number(a.debits ?? 0);
    const credits = Number(a.credits ?? 0);
    if (a.kind === 'revenue') Object.assign(entry, { charged: credits, refunded: debits });
    else if (a.kind === 'funding') Object.assign(entry, { funded: debits, withdrawn: credits });
    else entry.wallet_balance = credits - debits;
    ledger.set(a.currency, entry);
  }
  return {
    // count() and sum() come back as strings on PostgreSQL (bigint / numeric): Number() them.
    ordersCompleted: [...ordersCompleted.values()],
    ordersOpen: open.map((o) => ({ kind: o.kind, n: Number(o.n) })),
    allocation: quantiles(allocationMs),
    jobs: jobs.map((j) => ({ kind: j.kind, n: Number(j.n) })),
    webhookLag: quantiles(lagMs),
    deliveredRecent: Number(deliveredRecent?.n ?? 0),
    oldestPendingMs: pending?.oldest === null || pending?.oldest === undefined ? null : Number(pending.oldest),
    deliveries,
    ledger: [...ledger.values()],
  };
}
