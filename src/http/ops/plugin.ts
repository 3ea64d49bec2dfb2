import type { FastifyInstance, FastifyRequest } from 'fastify';
import client from 'prom-client';
import { sql } from 'kysely';
import type { AppContext } from '../../context.ts';
import { pendingMigrations } from '../../store/connect.ts';
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

/**
 * Operations endpoints:
 * - `GET /healthz`: the process is alive (no database access).
 * - `GET /readyz`: the database answers and every migration is applied; 503 otherwise (load balancers
 *   route only to ready processes).
 * - `GET /metrics`: Prometheus text. Per process: request latency by route, method, status and dialect;
 *   Node.js process metrics. From the store, computed on scrape (the same in every process, so take them
 *   from any one): orders by kind and status, allocation latency and webhook lag over the last 5 minutes,
 *   job queue depth, webhook deliveries by status and failed attempts, ledger totals by kind and currency.
 */
export async function opsPlugin(app: FastifyInstance, options: { ctx: AppContext }): Promise<void> {
  const { ctx } = options;
  const db = ctx.store.db;
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

  new client.Counter({
    name: 'esimhub_orders_total',
    help: 'Orders placed (from the store), by kind and status',
    labelNames: ['kind', 'status'] as const,
    registers: [registry],
    async collect() {
      const f = await figures();
      this.reset();
      for (const o of f.orders) this.inc({ kind: o.kind, status: o.status }, o.n);
    },
  });
  new client.Gauge({
    name: 'esimhub_allocation_latency_seconds',
    help: 'Order placed to allocated, over orders completed in the last 5 minutes',
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
    help: 'Webhook deliveries by status',
    labelNames: ['status'] as const,
    registers: [registry],
    async collect() {
      const f = await figures();
      this.reset();
      for (const d of f.deliveries) this.set({ status: d.status }, d.n);
    },
  });
  new client.Counter({
    name: 'esimhub_webhook_failed_attempts_total',
    help: 'Webhook attempts that did not get a 2xx (from the store)',
    registers: [registry],
    async collect() {
      const f = await figures();
      this.reset();
      this.inc(f.failedAttempts);
    },
  });
  new client.Gauge({
    name: 'esimhub_ledger_transfers_amount',
    help: 'Sum of ledger transfers by kind and currency, in 1/10,000 of the currency',
    labelNames: ['kind', 'currency'] as const,
    registers: [registry],
    async collect() {
      const f = await figures();
      this.reset();
      for (const l of f.ledger) this.set({ kind: l.kind, currency: l.currency }, l.amount);
    },
  });
  new client.Gauge({
    name: 'esimhub_ledger_transfers_count',
    help: 'Number of ledger transfers by kind and currency',
    labelNames: ['kind', 'currency'] as const,
    registers: [registry],
    async collect() {
      const f = await figures();
      this.reset();
      for (const l of f.ledger) this.set({ kind: l.kind, currency: l.currency }, l.n);
    },
  });

  app.get('/healthz', async () => ({ status: 'ok' }));

  app.get('/readyz', async (_request, reply) => {
    try {
      await sql`select 1`.execute(db);
    } catch (error) {
      return reply.code(503).send({ status: 'unavailable', database: 'unreachable', error: (error as Error).message });
    }
    const pending = await pendingMigrations(ctx.store);
    if (pending.length) return reply.code(503).send({ status: 'unavailable', database: 'ok', pendingMigrations: pending });
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

// Not encapsulated (what fastify-plugin does): the onResponse hook must see every route of the server.
(opsPlugin as unknown as Record<symbol, boolean>)[Symbol.for('skip-override')] = true;

interface StoreFigures {
  orders: Array<{ kind: string; status: string; n: number }>;
  allocation: Record<string, number | null>;
  jobs: Array<{ kind: string; n: number }>;
  webhookLag: Record<string, number | null>;
  oldestPendingMs: number | null;
  deliveries: Array<{ status: string; n: number }>;
  failedAttempts: number;
  ledger: Array<{ kind: string; currency: string; amount: number; n: number }>;
}

async function readStoreFigures(ctx: AppContext, nowMs: number): Promise<StoreFigures> {
  const db = ctx.store.db;
  const since = nowMs - WINDOW_MS;
  const [orders, allocated, jobs, delivered, pending, deliveries, failed, ledger] = await Promise.all([
    db.selectFrom('orders').select(['kind', 'status', (eb) => eb.fn.countAll().as('n')]).groupBy(['kind', 'status']).execute(),
    db
      .selectFrom('orders')
      .select(['created_at', 'completed_at'])
      .where('completed_at', '>=', since)
      .where('status', '=', 'ready')
      .orderBy('completed_at', 'desc')
      .limit(20_000)
      .execute(),
    db.selectFrom('jobs').select(['kind', (eb) => eb.fn.countAll().as('n')]).where('status', '=', 'queued').groupBy('kind').execute(),
    db
      .selectFrom('webhook_deliveries')
      .select(['created_at', 'delivered_at'])
      .where('delivered_at', '>=', since)
      .where('status', '=', 'delivered')
      .orderBy('delivered_at', 'desc')
      .limit(20_000)
      .execute(),
    db.selectFrom('webhook_deliveries').select((eb) => eb.fn.min('created_at').as('oldest')).where('status', 'in', ['pending', 'failed']).executeTakeFirst(),
    db.selectFrom('webhook_deliveries').select(['status', (eb) => eb.fn.countAll().as('n')]).groupBy('status').execute(),
    db
      .selectFrom('webhook_attempts')
      .select((eb) => eb.fn.countAll().as('n'))
      .where((eb) => eb.or([eb('status_code', 'is', null), eb('status_code', '<', 200), eb('status_code', '>=', 300)]))
      .executeTakeFirst(),
    db
      .selectFrom('ledger_transfers')
      .select(['kind', 'currency', (eb) => eb.fn.sum('amount').as('amount'), (eb) => eb.fn.countAll().as('n')])
      .groupBy(['kind', 'currency'])
      .execute(),
  ]);
  const allocationMs = allocated.map((o) => Number(o.completed_at) - Number(o.created_at)).sort((a, b) => a - b);
  const lagMs = delivered.map((d) => Number(d.delivered_at) - Number(d.created_at)).sort((a, b) => a - b);
  const quantiles = (sorted: number[]) => ({ '0.5': quantile(sorted, 0.5), '0.9': quantile(sorted, 0.9), '0.99': quantile(sorted, 0.99) });
  return {
    // count() and sum() come back as strings on PostgreSQL (bigint / numeric): Number() them.
    orders: orders.map((o) => ({ kind: o.kind, status: o.status, n: Number(o.n) })),
    allocation: quantiles(allocationMs),
    jobs: jobs.map((j) => ({ kind: j.kind, n: Number(j.n) })),
    webhookLag: quantiles(lagMs),
    oldestPendingMs: pending?.oldest === null || pending?.oldest === undefined ? null : Number(pending.oldest),
    deliveries: deliveries.map((d) => ({ status: d.status, n: Number(d.n) })),
    failedAttempts: Number(failed?.n ?? 0),
    ledger: ledger.map((l) => ({ kind: l.kind, currency: l.currency, amount: Number(l.amount ?? 0), n: Number(l.n) })),
  };
}
