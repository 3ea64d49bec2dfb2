import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { killHard, runCli, spawnServer, type ServerProcess } from './helpers/process.ts';
import { onPostgres, openTestStore, storeEnv } from './helpers/store.ts';
import { walletBalance, walletBalanceFromTransfers } from '../src/domain/ledger/ledger.ts';

/**
 * Two API and two worker processes on one PostgreSQL schema. Orders, top-ups, usage and webhooks run while
 * random processes are SIGKILLed and restarted; afterwards nothing is lost or done twice.
 * Runs in the PostgreSQL pass of the suite (ESIMHUB_TEST_STORE=postgres): several processes need it.
 */
describe.skipIf(!onPostgres)('scale-out on PostgreSQL: 2 API + 2 worker processes under SIGKILL', () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'esimhub-scaleout-'));
  const procs: Array<{ role: 'api' | 'worker'; server: ServerProcess | null }> = [
    { role: 'api', server: null },
    { role: 'api', server: null },
    { role: 'worker', server: null },
    { role: 'worker', server: null },
  ];
  const received = new Map<string, string[]>();
  let receiver: http.Server | null = null;

  afterAll(async () => {
    for (const p of procs) if (p.server) await killHard(p.server);
    if (receiver) {
      receiver.closeAllConnections();
      await new Promise((r) => receiver!.close(r));
    }
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('allocates every accepted order once, charges once, keeps balances, delivers every event', async () => {
    const env = {
      DATA_DIR: dataDir,
      ...storeEnv(dataDir),
      SEED_DEMO: 'false',
      SANDBOX_ALLOCATION_DELAY_MS: '150',
      RATE_LIMIT_PER_SECOND: '100000',
      WEBHOOK_RETRY_SCHEDULE_MS: '200',
      WEBHOOK_TIMEOUT_MS: '2000',
    };
    // The CLI creates the schema, the master key file and the partner before any server starts.
    const created = await runCli(['partner', 'create', '--name', 'Scale-out', '--deposit', '100000', '--json'], env);
    expect(created.code, created.stderr).toBe(0);
    const { partnerId, accessCode } = JSON.parse(created.stdout);

    receiver = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        const id = String(req.headers['webhook-id'] ?? '');
        if (body.includes('CHECK_HEALTH')) return void res.writeHead(200).end('ok');
        received.set(id, [...(received.get(id) ?? []), body]);
        // Some answers fail, so retries (with the same id) happen too.
        res.writeHead(Math.random() < 0.15 ? 503 : 200).end('ok');
      });
    });
    await new Promise<void>((r) => receiver!.listen(0, '127.0.0.1', r));
    const hookUrl = `http://127.0.0.1:${(receiver.address() as { port: number }).port}/hook`;

    const start = async (i: number) => {
      procs[i].server = await spawnServer({ ...env, ESIMHUB_ROLE: procs[i].role });
    };
    for (let i = 0; i < procs.length; i++) await start(i);

    const apis = () => procs.filter((p) => p.role === 'api' && p.server).map((p) => p.server!.baseUrl);
    /** POSTs to any live API process; an answer lost to a kill is retried (idempotent by transactionId). */
    const call = async (pathName: string, body: unknown, base = '/api/v1/open'): Promise<any> => {
      for (let attempt = 0; attempt < 200; attempt++) {
        const live = apis();
        const url = live[Math.floor(Math.random() * live.length)];
        if (url) {
          try {
            const res = await fetch(`${url}${base}${pathName}`, {
              method: 'POST',
              headers: { 'RT-AccessCode': accessCode, 'content-type': 'application/json' },
              body: JSON.stringify(body),
              signal: AbortSignal.timeout(10_000),
            });
            if (res.status < 500) return await res.json();
          } catch {
            /* the process died mid-request: try again */
          }
        }
        await new Promise((r) => setTimeout(r, 50));
      }
      throw new Error(`no API process answered ${pathName}`);
    };

    const saved = await call('/webhook/save', { webhook: hookUrl });
    expect(saved.success, JSON.stringify(saved)).toBe(true);
    const list = await call('/package/list', { locationCode: 'US' });
    const base = list.obj.packageList.find((p: any) => p.supportTopUpType === 2 && p.dataType === 1);
    expect(base).toBeTruthy();

    const accepted = new Map<string, string>(); // transactionId -> orderNo
    const placedNos: string[] = [];
    const touched = new Set<string>();
    let usageApplied = 0;
    let chaos = true;
    let kills = 0;
    const chaosLoop = (async () => {
      while (chaos) {
        await new Promise((r) => setTimeout(r, 400 + Math.random() * 600));
        if (!chaos) break;
        const i = Math.floor(Math.random() * procs.length);
        // Keep one API process up so the drivers make progress.
        if (procs[i].role === 'api' && apis().length < 2) continue;
        const victim = procs[i].server;
        if (!victim) continue;
        procs[i].server = null;
        await killHard(victim);
        kills++;
        await new Promise((r) => setTimeout(r, 200));
        await start(i);
      }
    })();

    const drivers = Array.from({ length: 4 }, (_, d) =>
      (async () => {
        // Until enough processes were killed (each restart takes a moment), within a time budget.
        const until = Date.now() + 30_000;
        for (let n = 0; n < 6 || (kills < 3 && Date.now() < until); n++) {
          await new Promise((r) => setTimeout(r, 100));
          const transactionId = `so-${d}-${n}`;
          const res = await call('/esim/order', { transactionId, packageInfoList: [{ packageCode: base.packageCode, count: 2 }] });
          expect(res.success, JSON.stringify(res)).toBe(true);
          accepted.set(transactionId, res.obj.orderNo);
          placedNos.push(res.obj.orderNo);
          // Use an eSIM of an earlier (by now ready) order: install, enable, use data, top it up.
          if (n % 2 === 1) {
            const earlier = placedNos[Math.floor(Math.random() * (placedNos.length - 1))];
            const q = await call('/esim/query', { orderNo: earlier, pager: { pageNum: 1, pageSize: 10 } });
            const iccid: string | undefined = q.success ? q.obj.esimList[0]?.iccid : undefined;
            if (iccid && !touched.has(iccid)) {
              touched.add(iccid);
              await call(`/esims/${iccid}/install`, {}, '/sandbox');
              await call(`/esims/${iccid}/enable`, {}, '/sandbox');
              const used = await call(`/esims/${iccid}/usage`, { bytes: 1_000_000 }, '/sandbox');
              if (used.grantedBytes > 0) usageApplied++;
              const topups = await call('/package/list', { type: 'TOPUP', iccid });
              const topup = topups.obj?.packageList?.[0];
              if (topup) {
                const tId = `so-top-${d}-${n}`;
                const t = await call('/esim/topup', { iccid, packageCode: topup.packageCode, transactionId: tId });
                expect(t.success, JSON.stringify(t)).toBe(true);
                accepted.set(tId, t.obj.orderNo ?? t.obj.transactionId);
              }
            }
          }
        }
      })(),
    );
    await Promise.all(drivers);
    chaos = false;
    await chaosLoop;
    expect(kills).toBeGreaterThanOrEqual(3);
    for (let i = 0; i < procs.length; i++) if (!procs[i].server) await start(i);

    const store = await openTestStore(dataDir);
    try {
      // Everything settles: no order allocating, no delivery pending.
      const deadline = Date.now() + 60_000;
      for (;;) {
        const allocating = await store.db.selectFrom('orders').select('id').where('status', '=', 'allocating').execute();
        const undelivered = await store.db.selectFrom('webhook_deliveries').select('id').where('partner_id', '=', partnerId).where('status', '!=', 'delivered').execute();
        if (!allocating.length && !undelivered.length) break;
        if (Date.now() > deadline) throw new Error(`not settled: ${allocating.length} orders allocating, ${undelivered.length} deliveries open`);
        await new Promise((r) => setTimeout(r, 200));
      }

      // Every accepted order (and top-up) exists once; orders are allocated exactly once.
      const orders = await store.db.selectFrom('orders').selectAll().where('partner_id', '=', partnerId).execute();
      expect(new Set(orders.map((o) => o.transaction_id))).toEqual(new Set(accepted.keys()));
      const placed = orders.filter((o) => o.kind === 'order');
      for (const order of placed) expect(order.status, order.order_no).toBe('ready');
      const esims = await store.db.selectFrom('esims').select(['id', 'iccid', 'order_id', 'order_item_id', 'slot']).where('partner_id', '=', partnerId).execute();
      expect(esims).toHaveLength(placed.reduce((sum, o) => sum + Number(o.total_count), 0));
      expect(new Set(esims.map((e) => e.iccid)).size).toBe(esims.length);
      expect(new Set(esims.map((e) => `${e.order_item_id}:${e.slot}`)).size).toBe(esims.length);
      for (const order of placed) expect(esims.filter((e) => e.order_id === order.id)).toHaveLength(Number(order.total_count));

      // Every charge and refund is in the ledger once; the balance is the sum of the transfers.
      const transfers = await store.db.selectFrom('ledger_transfers').select(['idempotency_id', 'kind', 'reference']).where('partner_id', '=', partnerId).execute();
      for (const order of orders) {
        expect(transfers.filter((t) => t.idempotency_id === `charge:${order.id}`), order.order_no).toHaveLength(1);
        expect(transfers.filter((t) => t.idempotency_id === `refund:${order.id}`)).toHaveLength(order.status === 'failed' ? 1 : 0);
      }
      expect(transfers.filter((t) => t.kind === 'charge')).toHaveLength(orders.length);
      const balance = await walletBalance(store.db, partnerId);
      expect(balance.balanceMinor).toBe(await walletBalanceFromTransfers(store.db, partnerId));

      // Every event reached the receiver at least once, with the same id (and body) on repeats.
      const events = await store.db.selectFrom('events').select(['id']).where('partner_id', '=', partnerId).execute();
      const deliveries = await store.db.selectFrom('webhook_deliveries').select(['event_id']).where('partner_id', '=', partnerId).execute();
      expect(deliveries.length).toBeGreaterThanOrEqual(placed.length);
      const topups = orders.length - placed.length;
      expect(usageApplied).toBeGreaterThan(0);
      expect(topups).toBeGreaterThan(0);
      console.log(`scale-out: ${kills} kills, ${placed.length} orders, ${topups} top-ups, ${usageApplied} usage grants, ${events.length} events, ${received.size} delivered ids, ${[...received.values()].reduce((n, b) => n + b.length, 0)} requests`);
      const eventIds = new Set(events.map((e) => e.id));
      for (const d of deliveries) expect(received.has(d.event_id), `event ${d.event_id} never arrived`).toBe(true);
      for (const [id, bodies] of received) {
        expect(eventIds.has(id), `unknown webhook-id ${id}`).toBe(true);
        expect(new Set(bodies.map((b) => JSON.parse(b).notifyId ?? id)).size).toBe(1);
      }
    } finally {
      await store.close();
    }
  }, 180_000);
});
