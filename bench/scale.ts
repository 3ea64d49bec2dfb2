/**
 * Scale: the same measurements on each store, beside the bare-route baseline, over a large seeded dataset.
 *   node bin/run-ts.js bench/scale.ts
 * Environment: BENCH_ESIMS (default 1000000), BENCH_PARTNERS (1000), BENCH_USAGE (0), BENCH_SECONDS (8),
 * BENCH_STORES (sqlite,postgres), BENCH_PG_URL (postgres://root@127.0.0.1:5432/test), BENCH_ORDERING_PARTNERS (16:
 * the order load comes from that many seeded partners in turn; 1 puts every order on one wallet row).
 *
 * For each store:
 * - seeds the data with `esimhub seed` (timed);
 * - orders/s through esim/order with 1 API process, and (PostgreSQL) with 2 API processes (+1 worker),
 *   counted as orders the store holds afterwards;
 * - esim/query by iccid and by orderNo: p50/p99 over random seeded ids of partner 0, one request at a time
 *   (1 connection) and with 8 connections;
 * - allocation lag (order placed to allocated) and webhook lag (event to delivered to a local receiver)
 *   p99 under the order load.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { load, percentile, printTable, ROOT, spawnAndWait, startBareFastify, type Spawned } from './lib.ts';
import { sql } from 'kysely';
import { connectStore, type Store } from '../src/store/connect.ts';

const ESIMS = Number(process.env.BENCH_ESIMS ?? 1_000_000);
const PARTNERS = Number(process.env.BENCH_PARTNERS ?? 1000);
const USAGE = Number(process.env.BENCH_USAGE ?? 0);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 8);
/** Partners the order load comes from (BENCH_ORDERING_PARTNERS; 1 = one wallet, the worst case). */
const ORDERING_PARTNERS = Number(process.env.BENCH_ORDERING_PARTNERS ?? 16);
const STORES = (process.env.BENCH_STORES ?? 'sqlite,postgres').split(',').map((s) => s.trim()) as Array<'sqlite' | 'postgres'>;
const PG_URL = process.env.BENCH_PG_URL ?? 'postgres://root@127.0.0.1:5432/test';

function cli(args: string[], env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [path.join(ROOT, 'bin/esimhub.js'), ...args], { cwd: ROOT, env: { ...process.env, LOG_LEVEL: 'warn', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => {
      stderr += d;
      if (process.env.BENCH_VERBOSE) process.stderr.write(d);
    });
    child.on('exit', (code) => resolve({ code: code ?? 1, stdout, stderr }));
  });
}

async function serve(env: Record<string, string>, role: 'all' | 'api' | 'worker'): Promise<Spawned> {
  return spawnAndWait([path.join(ROOT, 'bin/esimhub.js'), 'serve', '--host', '127.0.0.1', '--port', '0'], { ...env, ESIMHUB_ROLE: role, SEED_DEMO: 'false' }, /listening on [^:]+:(\d+)/);
}

let counter = 0;
/** Orders from several partners in turn, as a wholesale platform sees them (one partner's orders share its wallet row). */
function orderRequest(accessCodes: string[]) {
  return {
    method: 'POST' as const,
    path: '/api/v1/open/esim/order',
    setupRequest(request: any) {
      const n = ++counter;
      request.headers = { ...request.headers, 'content-type': 'application/json', 'RT-AccessCode': accessCodes[n % accessCodes.length] };
      request.body = JSON.stringify({ transactionId: `scale-${process.pid}-${n}`, packageInfoList: [{ packageCode: 'US_1_7', count: 1 }] });
      return request;
    },
  };
}

function queryRequest(accessCode: string, bodies: string[]) {
  let i = 0;
  return {
    method: 'POST' as const,
    path: '/api/v1/open/esim/query',
    setupRequest(request: any) {
      request.headers = { ...request.headers, 'content-type': 'application/json', 'RT-AccessCode': accessCode };
      request.body = bodies[i++ % bodies.length];
      return request;
    },
  };
}

/**
 * Orders per second as orders the store holds afterwards (eSIM Access answers refusals with HTTP 200, so
 * the load generator's status counts cannot tell a refused order from a placed one).
 */
async function ordersPerSecond(ports: number[], accessCodes: string[], store: Store, partnerIds: string[]): Promise<{ rps: number; p99: number; non2xx: number; refused: number }> {
  const sinceMs = Date.now();
  const results = await Promise.all(ports.map((port) => load({ url: `http://127.0.0.1:${port}`, connections: Math.round(32 / ports.length), duration: SECONDS, requests: [orderRequest(accessCodes)] })));
  await new Promise((r) => setTimeout(r, 500));
  const made = Number((await store.db.selectFrom('orders').select((eb) => eb.fn.countAll().as('n')).where('partner_id', 'in', partnerIds).where('created_at', '>=', sinceMs).executeTakeFirstOrThrow()).n);
  const answered = results.reduce((s, r) => s + r.requestsPerSecond * SECONDS, 0);
  return { rps: made / SECONDS, p99: Math.max(...results.map((r) => r.latencyP99Ms)), non2xx: results.reduce((s, r) => s + r.non2xx + r.errors, 0), refused: Math.max(0, Math.round(answered - made)) };
}

async function lags(store: Store, partnerIds: string[], sinceMs: number): Promise<{ allocationP99: number; webhookP99: number; orders: number; webhooks: number }> {
  // Wait until the load's orders are allocated and their webhooks delivered (or 60 s).
  for (let i = 0; i < 600; i++) {
    const open = await store.db.selectFrom('orders').select((eb) => eb.fn.countAll().as('n')).where('status', '=', 'allocating').executeTakeFirstOrThrow();
    const undelivered = await store.db.selectFrom('webhook_deliveries').select((eb) => eb.fn.countAll().as('n')).where('status', '!=', 'delivered').executeTakeFirstOrThrow();
    if (Number(open.n) === 0 && Number(undelivered.n) === 0) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const orders = await store.db.selectFrom('orders').select(['created_at', 'completed_at']).where('partner_id', 'in', partnerIds).where('created_at', '>=', sinceMs).where('completed_at', 'is not', null).execute();
  const hooks = await store.db.selectFrom('webhook_deliveries').select(['created_at', 'delivered_at']).where('partner_id', 'in', partnerIds).where('created_at', '>=', sinceMs).where('delivered_at', 'is not', null).execute();
  const a = orders.map((o) => Number(o.completed_at) - Number(o.created_at)).sort((x, y) => x - y);
  const w = hooks.map((h) => Number(h.delivered_at) - Number(h.created_at)).sort((x, y) => x - y);
  return { allocationP99: percentile(a, 99), webhookP99: percentile(w, 99), orders: a.length, webhooks: w.length };
}

const receiver = http.createServer((req, res) => {
  req.resume();
  req.on('end', () => res.writeHead(200).end('ok'));
});
await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
const hookUrl = `http://127.0.0.1:${(receiver.address() as { port: number }).port}/hook`;

const bare = await startBareFastify();
const rows: Array<Record<string, string | number>> = [];
try {
  await load({ url: `http://127.0.0.1:${bare.port}/bare`, method: 'POST', body: '{}', duration: 2 });
  const baseline = await load({ url: `http://127.0.0.1:${bare.port}/bare`, method: 'POST', body: '{}', duration: SECONDS });
  rows.push({ store: '-', measure: 'bare route (baseline)', value: `${Math.round(baseline.requestsPerSecond)} req/s`, p99_ms: baseline.latencyP99Ms, note: '' });

  for (const kind of STORES) {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'esimhub-scale-'));
    const schema = `bench_${crypto.randomBytes(4).toString('hex')}`;
    const env: Record<string, string> = { DATA_DIR: dataDir, RATE_LIMIT_PER_SECOND: '100000', SANDBOX_ALLOCATION_DELAY_MS: '0', LOG_LEVEL: 'warn' };
    if (kind === 'postgres') Object.assign(env, { DATABASE_URL: PG_URL, DATABASE_SCHEMA: schema });
    const procs: Spawned[] = [];
    try {
      const t0 = Date.now();
      const seeded = await cli(['seed', '--partners', String(PARTNERS), '--esims', String(ESIMS), '--usage', String(USAGE), '--json'], env);
      if (seeded.code !== 0) throw new Error(`seed failed: ${seeded.stderr}`);
      const seed = JSON.parse(seeded.stdout);
      rows.push({ store: kind, measure: `seed ${PARTNERS} partners, ${ESIMS} eSIMs, ${USAGE} usage`, value: `${((Date.now() - t0) / 1000).toFixed(1)} s`, p99_ms: '', note: `${Math.round(ESIMS / ((Date.now() - t0) / 1000))} eSIMs/s` });
      const partner = seed.partners[0];
      const buyers = seed.partners.slice(0, ORDERING_PARTNERS) as Array<{ partnerId: string; accessCode: string }>;
      const buyerCodes = buyers.map((b) => b.accessCode);
      const buyerIds = buyers.map((b) => b.partnerId);
      const store = await connectStore({ databaseUrl: env.DATABASE_URL ?? '', dataDir, ...(kind === 'postgres' ? { schema } : {}) });
      if (kind === 'postgres') {
        // After a bulk load an operator vacuums (autovacuum would otherwise do it in the middle of the
        // measurements: a million freshly inserted rows are due for it) and checkpoints.
        const t1 = Date.now();
        const tables = await sql<{ name: string }>`select table_name as name from information_schema.tables where table_schema = ${schema} and table_type = 'BASE TABLE'`.execute(store.db);
        await sql.raw(`vacuum (analyze) ${tables.rows.map((t) => `"${schema}"."${t.name}"`).join(', ')}`).execute(store.db);
        await sql`checkpoint`.execute(store.db);
        rows.push({ store: kind, measure: 'vacuum (analyze) and checkpoint after the seed', value: `${((Date.now() - t1) / 1000).toFixed(1)} s`, p99_ms: '', note: '' });
      }

      // One process (role all on SQLite; api + worker on PostgreSQL).
      const first = await serve(env, kind === 'sqlite' ? 'all' : 'api');
      procs.push(first);
      if (kind === 'postgres') procs.push(await serve(env, 'worker'));
      for (const buyer of buyers) {
        const save = await fetch(`http://127.0.0.1:${first.port}/api/v1/open/webhook/save`, { method: 'POST', headers: { 'RT-AccessCode': buyer.accessCode, 'content-type': 'application/json' }, body: JSON.stringify({ webhook: hookUrl }) });
        if (!(await save.json() as any).success) throw new Error('webhook/save failed');
      }

      const byIccid = seed.sample.iccids.map((iccid: string) => JSON.stringify({ iccid, pager: { pageNum: 1, pageSize: 10 } }));
      const byOrder = seed.sample.orderNos.map((orderNo: string) => JSON.stringify({ orderNo, pager: { pageNum: 1, pageSize: 10 } }));
      await load({ url: `http://127.0.0.1:${first.port}`, connections: 8, duration: 2, requests: [queryRequest(partner.accessCode, byIccid)] });
      // One connection: the latency of a query itself. Eight: the server saturated (on a 2-core machine that
      // shares its cores with the load generator), where p99 is mostly time spent queued behind the others.
      for (const connections of [1, 8]) {
        for (const [label, bodies] of [['esim/query by iccid', byIccid], ['esim/query by orderNo', byOrder]] as const) {
          const r = await load({ url: `http://127.0.0.1:${first.port}`, connections, duration: SECONDS, requests: [queryRequest(partner.accessCode, bodies)] });
          rows.push({ store: kind, measure: `${label} (${ESIMS} eSIMs), ${connections} connection${connections > 1 ? 's' : ''}`, value: `${Math.round(r.requestsPerSecond)} req/s`, p99_ms: r.latencyP99Ms, note: `p50 ${r.latencyP50Ms} ms, ${r.non2xx + r.errors} errors` });
        }
      }

      let since = Date.now();
      const one = await ordersPerSecond([first.port], buyerCodes, store, buyerIds);
      rows.push({ store: kind, measure: 'esim/order, 1 API process', value: `${Math.round(one.rps)} orders/s`, p99_ms: one.p99, note: `${(one.rps / baseline.requestsPerSecond).toFixed(3)} of baseline, ${one.non2xx} HTTP errors, about ${one.refused} refused` });
      let lag = await lags(store, buyerIds, since);
      rows.push({ store: kind, measure: 'allocation lag p99 (1 API)', value: `${lag.allocationP99} ms`, p99_ms: lag.allocationP99, note: `${lag.orders} orders` });
      rows.push({ store: kind, measure: 'webhook lag p99 (1 API)', value: `${lag.webhookP99} ms`, p99_ms: lag.webhookP99, note: `${lag.webhooks} webhooks` });

      if (kind === 'postgres') {
        const second = await serve(env, 'api');
        procs.push(second);
        since = Date.now();
        const two = await ordersPerSecond([first.port, second.port], buyerCodes, store, buyerIds);
        rows.push({ store: kind, measure: 'esim/order, 2 API processes', value: `${Math.round(two.rps)} orders/s`, p99_ms: two.p99, note: `${(two.rps / baseline.requestsPerSecond).toFixed(3)} of baseline, ${two.non2xx} HTTP errors, about ${two.refused} refused` });
        lag = await lags(store, buyerIds, since);
        rows.push({ store: kind, measure: 'allocation lag p99 (2 API)', value: `${lag.allocationP99} ms`, p99_ms: lag.allocationP99, note: `${lag.orders} orders` });
        rows.push({ store: kind, measure: 'webhook lag p99 (2 API)', value: `${lag.webhookP99} ms`, p99_ms: lag.webhookP99, note: `${lag.webhooks} webhooks` });
      } else {
        rows.push({ store: kind, measure: 'esim/order, 2 API processes', value: 'n/a', p99_ms: '', note: 'the embedded store runs one process' });
      }
      await store.close();
    } finally {
      for (const p of procs.reverse()) await p.stop();
      if (kind === 'postgres' && !process.env.BENCH_KEEP) {
        const pg = await import('pg');
        const client = new pg.default.Client({ connectionString: PG_URL });
        await client.connect();
        await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
        await client.end();
      }
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  }
} finally {
  await bare.stop();
  receiver.close();
}
printTable(rows);
