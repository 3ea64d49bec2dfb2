import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type TestPartner, type TestServer } from './helpers/server.ts';
import { runCli, spawnServer } from './helpers/process.ts';
import { onPostgres, openTestStore } from './helpers/store.ts';
import { waitForOrder } from './helpers/orders.ts';
import { DbRateLimiter, MemoryRateLimiter, RedisRateLimiter, type RateLimiter } from '../src/http/rate-limit.ts';
import { Scheduler } from '../src/workers/scheduler.ts';
import { dialectOfRoute } from '../src/http/ops/plugin.ts';
import { quantile } from '../src/lib/stats.ts';

describe('operations endpoints', () => {
  let server: TestServer;
  let partner: TestPartner;
  beforeAll(async () => {
    server = await startServer();
    partner = await server.createPartner();
  });
  afterAll(async () => server?.close());

  it('/healthz is alive, /readyz checks the database and migrations', async () => {
    expect(await (await fetch(`${server.baseUrl}/healthz`)).json()).toEqual({ status: 'ok' });
    const ready = await fetch(`${server.baseUrl}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ status: 'ready', database: 'ok', store: server.ctx.store.dialect });
  });

  it('/metrics exposes request latency by route and dialect, orders, queue, webhooks and ledger totals', async () => {
    const order = await server.ea('/esim/order', { transactionId: 'metrics-1', packageInfoList: [{ packageCode: 'US_1_7', count: 1 }] }, partner);
    expect(order.json.success).toBe(true);
    await waitForOrder(server, partner, order.json.obj.orderNo);
    const res = await fetch(`${server.baseUrl}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/text\/plain/);
    const text = await res.text();
    expect(text).toMatch(/esimhub_http_request_duration_seconds_bucket\{[^}]*route="\/api\/v1\/open\/esim\/order"[^}]*dialect="esimaccess"/);
    expect(text).toMatch(/esimhub_orders_completed\{kind="order",status="ready"\} [1-9]/);
    expect(text).toMatch(/esimhub_allocation_latency_seconds\{quantile="0.99"\} \d/);
    expect(text).toMatch(/# TYPE esimhub_job_queue_depth gauge/);
    expect(text).toMatch(/esimhub_ledger_amount\{flow="charged",currency="USD"\} [1-9]/);
    expect(text).toMatch(/esimhub_process_cpu_seconds_total/);
  });

  it('/readyz answers 503 while a migration is pending, 200 again once it is applied', async () => {
    const db = server.ctx.store.db;
    const [latest] = await db.selectFrom('schema_migrations' as any).selectAll().orderBy('name' as any, 'desc').limit(1).execute();
    expect(latest).toBeTruthy();
    await db.deleteFrom('schema_migrations' as any).where('name' as any, '=', (latest as any).name).execute();
    try {
      const pending = await fetch(`${server.baseUrl}/readyz`);
      expect(pending.status).toBe(503);
      expect(await pending.json()).toEqual({ status: 'unavailable', database: 'ok', pendingMigrations: [(latest as any).name] });
    } finally {
      await db.insertInto('schema_migrations' as any).values(latest as any).execute();
    }
    expect((await fetch(`${server.baseUrl}/readyz`)).status).toBe(200);
  });

  it('labels routes with their dialect', () => {
    expect(dialectOfRoute('/api/v1/open/esim/query')).toBe('esimaccess');
    expect(dialectOfRoute('/v2.4/esims')).toBe('esimgo');
    expect(dialectOfRoute('/api/v1/purchases')).toBe('dataplans');
    expect(dialectOfRoute('/v1/orders')).toBe('native');
  });
});

/** Prometheus text as `name{labels}` -> value (one entry per sample). */
function samples(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = /^([a-z_]+(?:\{[^}]*\})?) (\S+)$/.exec(line);
    if (m) out.set(m[1], Number(m[2]));
  }
  return out;
}

describe('metrics from the store, after known activity', () => {
  let server: TestServer;
  let receiver: http.Server;
  beforeAll(async () => {
    // A failed delivery waits ten minutes for its retry: the figures hold still while they are read.
    server = await startServer({ WEBHOOK_RETRY_SCHEDULE_MS: '600000', SEED_DEMO: 'false' });
    receiver = http.createServer((req, res) => {
      let body = '';
      req.on('data', (d) => (body += d));
      req.on('end', () => res.writeHead(req.url === '/fail' && !body.includes('CHECK_HEALTH') ? 503 : 200).end());
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  });
  afterAll(async () => {
    await server?.close();
    receiver?.closeAllConnections();
    await new Promise((r) => receiver?.close(r));
  });

  it('ledger totals, orders, webhook lag and failed deliveries have the values the store holds', async () => {
    const hook = `http://127.0.0.1:${(receiver.address() as { port: number }).port}`;
    const a = await server.createPartner({ name: 'Metrics A', depositMinor: 1000 * 10_000 });
    const b = await server.createPartner({ name: 'Metrics B', depositMinor: 500 * 10_000 });
    expect((await server.ea('/webhook/save', { webhook: `${hook}/ok` }, a)).json.success).toBe(true);
    expect((await server.ea('/webhook/save', { webhook: `${hook}/fail` }, b)).json.success).toBe(true);
    const ordered = async (partner: TestPartner, transactionId: string, count: number) => {
      const res = await server.ea('/esim/order', { transactionId, packageInfoList: [{ packageCode: 'US_1_7', count }] }, partner);
      expect(res.json.success, res.text).toBe(true);
      return (await waitForOrder(server, partner, res.json.obj.orderNo)).esimList as Array<{ iccid: string }>;
    };
    const esimsA = await ordered(a, 'metrics-a', 2);
    await ordered(b, 'metrics-b', 1);
    expect((await server.ea('/esim/cancel', { iccid: esimsA[0].iccid }, a)).json.success).toBe(true);

    // Settled: A's deliveries all delivered, B's all failed once (their retry is ten minutes away).
    const db = server.ctx.store.db;
    const deliveriesOf = (partnerId: string) => db.selectFrom('webhook_deliveries').select(['status', 'created_at', 'delivered_at']).where('partner_id', '=', partnerId).execute();
    for (const deadline = Date.now() + 15_000; ; ) {
      const [da, dbb] = [await deliveriesOf(a.partnerId), await deliveriesOf(b.partnerId)];
      if (da.length && dbb.length && da.every((d) => d.status === 'delivered') && dbb.every((d) => d.status === 'failed')) break;
      if (Date.now() > deadline) throw new Error(`deliveries not settled: ${JSON.stringify({ a: da.map((d) => d.status), b: dbb.map((d) => d.status) })}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    const deliveredA = await deliveriesOf(a.partnerId);
    const failedB = await deliveriesOf(b.partnerId);

    // What the figures must be, read the long way: every transfer, every order.
    const transfers = await db.selectFrom('ledger_transfers').select(['kind', 'amount']).execute();
    const sumOf = (kind: string) => transfers.filter((t) => t.kind === kind).reduce((sum, t) => sum + Number(t.amount), 0);
    const price = Number((await db.selectFrom('esims').select('price').where('iccid', '=', esimsA[0].iccid).executeTakeFirstOrThrow()).price);
    expect(price).toBeGreaterThan(0);
    expect([sumOf('deposit'), sumOf('charge'), sumOf('refund'), sumOf('withdrawal'), sumOf('adjustment')]).toEqual([1500 * 10_000, 3 * price, price, 0, 0]);
    const orders = await db.selectFrom('orders').select(['created_at', 'completed_at']).where('kind', '=', 'order').execute();
    expect(orders).toHaveLength(2);
    const seconds = (ms: number[]) => Object.fromEntries(['0.5', '0.9', '0.99'].map((q) => [q, quantile(ms.sort((x, y) => x - y), Number(q))! / 1000]));
    const allocation = seconds(orders.map((o) => Number(o.completed_at) - Number(o.created_at)));
    const lag = seconds(deliveredA.map((d) => Number(d.delivered_at) - Number(d.created_at)));

    const m = samples(await (await fetch(`${server.baseUrl}/metrics`)).text());
    expect(m.get('esimhub_ledger_amount{flow="funded",currency="USD"}')).toBe(1500 * 10_000);
    expect(m.get('esimhub_ledger_amount{flow="charged",currency="USD"}')).toBe(3 * price);
    expect(m.get('esimhub_ledger_amount{flow="refunded",currency="USD"}')).toBe(price);
    expect(m.get('esimhub_ledger_amount{flow="withdrawn",currency="USD"}')).toBe(0);
    expect(m.get('esimhub_ledger_amount{flow="wallet_balance",currency="USD"}')).toBe(1500 * 10_000 - 2 * price);
    expect(m.get('esimhub_orders_completed{kind="order",status="ready"}')).toBe(2);
    expect([...m.keys()].filter((k) => k.startsWith('esimhub_orders_open'))).toEqual([]);
    for (const q of ['0.5', '0.9', '0.99']) {
      expect(m.get(`esimhub_allocation_latency_seconds{quantile="${q}"}`)).toBe(allocation[q]);
      expect(m.get(`esimhub_webhook_lag_seconds{quantile="${q}"}`)).toBe(lag[q]);
    }
    // One delivery per event of A's (the order's, the cancel's), all delivered within the window.
    const eventsA = await db.selectFrom('events').select('id').where('partner_id', '=', a.partnerId).execute();
    expect(eventsA.length).toBeGreaterThanOrEqual(2);
    expect(deliveredA).toHaveLength(eventsA.length);
    expect(m.get('esimhub_webhook_delivered_recent')).toBe(deliveredA.length);
    expect(failedB.length).toBeGreaterThan(0);
    expect(m.get('esimhub_webhook_deliveries{status="failed"}')).toBe(failedB.length);
    expect(m.get('esimhub_webhook_deliveries{status="pending"}')).toBe(0);
    expect(m.get('esimhub_webhook_deliveries{status="dead"}')).toBe(0);
    const oldestFailedS = (Date.now() - Math.min(...failedB.map((d) => Number(d.created_at)))) / 1000;
    expect(m.get('esimhub_webhook_oldest_pending_seconds')).toBeGreaterThan(0);
    expect(m.get('esimhub_webhook_oldest_pending_seconds')).toBeLessThanOrEqual(oldestFailedS);
  });
});

/** Two limiters standing for two API processes: together they allow one budget, not two. */
async function sharedBudget(a: RateLimiter, b: RateLimiter, key: string): Promise<{ allowed: number; waitMs: number }> {
  const now = Date.now();
  let allowed = 0;
  let waitMs = 0;
  for (let i = 0; i < 10; i++) {
    const wait = await (i % 2 ? b : a).acquire(key, 5, now);
    if (wait === 0) allowed++;
    else waitMs = wait;
  }
  return { allowed, waitMs };
}

const redisUrl = process.env.ESIMHUB_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
/** In CI (.ci/run starts Redis) or when a URL is given, Redis must answer; elsewhere its absence skips the test. */
const redisRequired = Boolean(process.env.ESIMHUB_TEST_REDIS_URL) || process.env.CI === 'true';

describe('rate limits across processes', () => {
  it('in memory: one process', async () => {
    const limiter = new MemoryRateLimiter();
    const now = Date.now();
    const results = await Promise.all(Array.from({ length: 8 }, () => limiter.acquire('k', 5, now)));
    expect(results.filter((w) => w === 0)).toHaveLength(5);
  });

  it.skipIf(!onPostgres)('in PostgreSQL: two limiters share one bucket (GCRA), and it refills', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'esimhub-rl-'));
    const one = await openTestStore(dir);
    const two = await openTestStore(dir);
    try {
      const { allowed, waitMs } = await sharedBudget(new DbRateLimiter(one.db), new DbRateLimiter(two.db), 'key-1');
      expect(allowed).toBe(5);
      expect(waitMs).toBeGreaterThan(0);
      expect(waitMs).toBeLessThanOrEqual(200);
      // 200 ms later one more request fits.
      expect(await new DbRateLimiter(one.db).acquire('key-1', 5, Date.now() + 1000)).toBe(0);
    } finally {
      await one.close();
      await two.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it.skipIf(!onPostgres)('in PostgreSQL: a busy key is checked by leases that never let two processes exceed the budget, and unspent tokens go back', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'esimhub-rl-'));
    const one = await openTestStore(dir);
    const two = await openTestStore(dir);
    try {
      // 1000 a second: a burst of 1000, one token per millisecond, leases of 25 tokens.
      const a = new DbRateLimiter(one.db);
      const b = new DbRateLimiter(two.db);
      const now = Date.now();
      let allowed = 0;
      for (let i = 0; i < 3000; i++) if ((await (i % 2 ? b : a).acquire('busy', 1000, now)) === 0) allowed++;
      expect(allowed).toBe(1000);
      const grantedOf = async (key: string) => Number((await one.db.selectFrom('rate_limits').select('granted').where('key', '=', key).executeTakeFirstOrThrow()).granted);
      expect(await grantedOf('busy')).toBe(25); // 40 leases of 25, not 1,000 checks

      // A takes a lease and spends one token of it; B gets the rest of the burst.
      expect(await a.acquire('quiet', 1000, now)).toBe(0);
      expect(await grantedOf('quiet')).toBe(25);
      let toB = 0;
      while ((await b.acquire('quiet', 1000, now)) === 0) toB++;
      expect(toB).toBe(1000 - 25);
      // 30 ms later 30 tokens have refilled, and A's ended lease gives its 24 unspent back: 54 in all.
      let later = 0;
      for (let i = 0; i < 200; i++) if ((await (i % 2 ? b : a).acquire('quiet', 1000, now + 30)) === 0) later++;
      expect(later).toBe(30 + 24);
    } finally {
      await one.close();
      await two.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('in Redis: two limiters share one bucket', async (test) => {
    let a: RedisRateLimiter;
    try {
      a = await RedisRateLimiter.connect(redisUrl, `esimhub-test:${process.pid}:${Date.now()}:`);
    } catch (error) {
      if (redisRequired) throw new Error(`Redis at ${redisUrl} did not answer (${(error as Error).message}); CI=true or ESIMHUB_TEST_REDIS_URL means it must`);
      return test.skip(`no Redis at ${redisUrl}`);
    }
    const b = await RedisRateLimiter.connect(redisUrl, (a as any).prefix);
    try {
      const { allowed, waitMs } = await sharedBudget(a, b, 'key-1');
      expect(allowed).toBe(5);
      expect(waitMs).toBeGreaterThan(0);
    } finally {
      await a.close();
      await b.close();
    }
  });
});

describe.skipIf(!onPostgres)('scheduler on PostgreSQL', () => {
  it('skips a scan while another process holds the advisory lock', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'esimhub-sched-'));
    const store = await openTestStore(dir);
    try {
      let scans = 0;
      const scheduler = new Scheduler(store.db, pino({ level: 'silent' }), () => Date.now(), () => undefined);
      (scheduler as any).scan = async () => {
        scans++;
        return 0;
      };
      await store.db.connection().execute(async (holder) => {
        const { rows } = await sql<{ locked: boolean }>`select pg_try_advisory_lock(hashtext('esimhub.scheduler'), hashtext(current_schema())) as locked`.execute(holder);
        expect(rows[0].locked).toBe(true);
        await scheduler.tick();
        expect(scans).toBe(0);
        await sql`select pg_advisory_unlock(hashtext('esimhub.scheduler'), hashtext(current_schema()))`.execute(holder);
      });
      await scheduler.tick();
      expect(scans).toBe(1);
    } finally {
      await store.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('graceful shutdown', () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'esimhub-shutdown-'));
  afterAll(() => fs.rmSync(dataDir, { recursive: true, force: true }));

  it('on SIGTERM finishes the request in flight, hands back its claims and exits 0', async () => {
    const env = { DATA_DIR: dataDir, SEED_DEMO: 'false', SANDBOX_ALLOCATION_DELAY_MS: '0', RATE_LIMIT_PER_SECOND: '100000' };
    const created = await runCli(['partner', 'create', '--name', 'Shutdown', '--deposit', '1000', '--json'], env);
    expect(created.code, created.stderr).toBe(0);
    const { accessCode } = JSON.parse(created.stdout);
    const server = await spawnServer(env);
    // A request truly in flight: headers and half the body sent before SIGTERM, the rest after.
    const body = JSON.stringify({ transactionId: 'drain-1', packageInfoList: [{ packageCode: 'US_1_7', count: 3 }] });
    const url = new URL(`${server.baseUrl}/api/v1/open/esim/order`);
    const answer = new Promise<any>((resolve, reject) => {
      const req = http.request({ host: url.hostname, port: url.port, path: url.pathname, method: 'POST', headers: { 'RT-AccessCode': accessCode, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
        let text = '';
        res.on('data', (d) => (text += d));
        res.on('end', () => resolve(JSON.parse(text)));
      });
      req.on('error', reject);
      req.write(body.slice(0, 10));
      setTimeout(() => {
        server.child.kill('SIGTERM');
        setTimeout(() => req.end(body.slice(10)), 300);
      }, 100);
    });
    const exited = new Promise<number | null>((r) => server.child.once('exit', (code) => r(code)));
    expect((await answer).success).toBe(true);
    expect(await exited).toBe(0);
    const store = await openTestStore(dataDir);
    try {
      const held = await store.db.selectFrom('jobs').select('id').where('locked_by', 'is not', null).where('status', '=', 'queued').execute();
      expect(held).toHaveLength(0);
    } finally {
      await store.close();
    }
  });
});
