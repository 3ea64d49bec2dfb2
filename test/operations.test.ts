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
    expect(text).toMatch(/esimhub_orders_total\{kind="order",status="ready"\} [1-9]/);
    expect(text).toMatch(/esimhub_allocation_latency_seconds\{quantile="0.99"\} \d/);
    expect(text).toMatch(/esimhub_job_queue_depth|# TYPE esimhub_job_queue_depth gauge/);
    expect(text).toMatch(/esimhub_webhook_failed_attempts_total \d+/);
    expect(text).toMatch(/esimhub_ledger_transfers_amount\{kind="charge",currency="USD"\} [1-9]/);
    expect(text).toMatch(/esimhub_ledger_transfers_amount\{kind="deposit",currency="USD"\} [1-9]/);
    expect(text).toMatch(/esimhub_process_cpu_seconds_total/);
  });

  it('labels routes with their dialect', () => {
    expect(dialectOfRoute('/api/v1/open/esim/query')).toBe('esimaccess');
    expect(dialectOfRoute('/v2.4/esims')).toBe('esimgo');
    expect(dialectOfRoute('/api/v1/purchases')).toBe('dataplans');
    expect(dialectOfRoute('/v1/orders')).toBe('native');
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

  it.skipIf(!process.env.ESIMHUB_TEST_REDIS_URL && !onPostgres)('in Redis: two limiters share one bucket', async () => {
    const url = process.env.ESIMHUB_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
    let a: RedisRateLimiter;
    try {
      a = await RedisRateLimiter.connect(url, `esimhub-test:${process.pid}:${Date.now()}:`);
    } catch {
      return; // no Redis here: covered where it runs
    }
    const b = await RedisRateLimiter.connect(url, (a as any).prefix);
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
