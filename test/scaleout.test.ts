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
  /** Every webhook request the receiver got, by webhook-id: the body and the status it answered. */
  const received = new Map<string, Array<{ body: string; status: number }>>();
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
        // Some answers fail, so retries (with the same id) happen too.
        const status = Math.random() < 0.15 ? 503 : 200;
        received.set(id, [...(received.get(id) ?? []), { body, status }]);
        res.writeHead(status).end('ok');
      });
    });
    await new Promise<void>((r) => receiver!.listen(0, '127.0.0.1', r));
    const hookUrl = `http://127.0.0.1:${(receiver.address() as { port: number }).port}/hook`;

    const start = async (i: number) => {
      // A start may take long on a busy machine (four processes, the drivers, other suites): wait for it.
      procs[i].server = await spawnServer({ ...env, ESIMHUB_ROLE: procs[i].role }, 90_000);
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
    /** eSIMs used (installed, data, top-up) or cancelled: each eSIM gets one of the two. */
    const touched = new Set<string>();
    const cancelled = new Set<string>(); // ICCIDs sent to esim/cancel
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

    /** An eSIM of an earlier (by now ready) order that no driver used or cancelled yet, marked as taken. */
    const untouchedEarlierEsim = async (): Promise<string | undefined> => {
      const earlier = placedNos[Math.floor(Math.random() * (placedNos.length - 1))];
      const q = await call('/esim/query', { orderNo: earlier, pager: { pageNum: 1, pageSize: 10 } });
      const iccid: string | undefined = q.success ? q.obj.esimList.find((e: any) => !touched.has(e.iccid))?.iccid : undefined;
      if (iccid) touched.add(iccid);
      return iccid;
    };
    const drivers = Array.from({ length: 4 }, (_, d) =>
      (async () => {
        // Until enough processes were killed (each restart takes a moment: on a loaded 2-core machine a start took
        // long enough that 30 s saw only two kills), within a time budget.
        const until = Date.now() + 90_000;
        for (let n = 0; n < 8 || (kills < 3 && Date.now() < until); n++) {
          await new Promise((r) => setTimeout(r, 100));
          const transactionId = `so-${d}-${n}`;
          const res = await call('/esim/order', { transactionId, packageInfoList: [{ packageCode: base.packageCode, count: 2 }] });
          expect(res.success, JSON.stringify(res)).toBe(true);
          accepted.set(transactionId, res.obj.orderNo);
          placedNos.push(res.obj.orderNo);
          // Cancel an unused eSIM of an earlier order: a refund, while processes die.
          if (n % 4 === 3) {
            const iccid = await untouchedEarlierEsim();
            if (iccid) {
              cancelled.add(iccid);
              const c = await call('/esim/cancel', { iccid });
              // 200002: an earlier try did cancel it, but its answer was lost to a kill.
              expect(c.success || c.errorCode === '200002', JSON.stringify(c)).toBe(true);
            }
          }
          // Use an eSIM of an earlier order: install, enable, use data, top it up.
          if (n % 4 === 1) {
            const iccid = await untouchedEarlierEsim();
            if (iccid) {
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
      const esims = await store.db
        .selectFrom('esims')
        .innerJoin('order_items', 'order_items.id', 'esims.order_item_id')
        .select(['esims.id', 'esims.iccid', 'esims.esim_tran_no', 'esims.esim_status', 'esims.order_id', 'esims.order_item_id', 'esims.slot', 'order_items.unit_price'])
        .where('esims.partner_id', '=', partnerId)
        .execute();
      expect(esims).toHaveLength(placed.reduce((sum, o) => sum + Number(o.total_count), 0));
      expect(new Set(esims.map((e) => e.iccid)).size).toBe(esims.length);
      expect(new Set(esims.map((e) => `${e.order_item_id}:${e.slot}`)).size).toBe(esims.length);
      for (const order of placed) expect(esims.filter((e) => e.order_id === order.id)).toHaveLength(Number(order.total_count));

      // Every charge and refund is in the ledger once; the balance is the sum of the transfers.
      const transfers = (await store.db.selectFrom('ledger_transfers').select(['idempotency_id', 'kind', 'reference', 'amount']).where('partner_id', '=', partnerId).execute()).map((t) => ({ ...t, amount: Number(t.amount) }));
      for (const order of orders) {
        const charges = transfers.filter((t) => t.idempotency_id === `charge:${order.id}`);
        expect(charges.map((t) => t.amount), order.order_no).toEqual([Number(order.amount)]);
        expect(transfers.filter((t) => t.idempotency_id === `refund:${order.id}`)).toHaveLength(order.status === 'failed' ? 1 : 0);
      }
      expect(transfers.filter((t) => t.kind === 'charge')).toHaveLength(orders.length);
      // Each cancelled eSIM is CANCEL and refunded once, its price; no other eSIM is cancelled or refunded.
      expect(cancelled.size).toBeGreaterThanOrEqual(4);
      expect(new Set(esims.filter((e) => e.esim_status === 'CANCEL').map((e) => e.iccid))).toEqual(cancelled);
      for (const e of esims.filter((x) => cancelled.has(x.iccid))) {
        const refunds = transfers.filter((t) => t.idempotency_id === `refund:esim:${e.id}`);
        expect(refunds.map((t) => [t.kind, t.reference, t.amount]), e.iccid).toEqual([['refund', e.esim_tran_no, Number(e.unit_price)]]);
      }
      const failedOrders = orders.filter((o) => o.status === 'failed').length;
      expect(transfers.filter((t) => t.kind === 'refund')).toHaveLength(cancelled.size + failedOrders);
      const sumOf = (kind: string) => transfers.filter((t) => t.kind === kind).reduce((sum, t) => sum + t.amount, 0);
      expect(sumOf('deposit')).toBe(100_000 * 10_000);
      expect(sumOf('charge')).toBe(orders.reduce((sum, o) => sum + Number(o.amount), 0));
      const balance = await walletBalance(store.db, partnerId);
      expect(balance.balanceMinor).toBe(await walletBalanceFromTransfers(store.db, partnerId));
      expect(balance.balanceMinor).toBe(sumOf('deposit') - sumOf('charge') + sumOf('refund'));

      // Every event reached the receiver at least once, with the same id (and body) on repeats.
      const events = await store.db.selectFrom('events').select(['id']).where('partner_id', '=', partnerId).execute();
      const deliveries = await store.db.selectFrom('webhook_deliveries').select(['event_id']).where('partner_id', '=', partnerId).execute();
      expect(deliveries.length).toBeGreaterThanOrEqual(placed.length);
      const topups = orders.length - placed.length;
      expect(usageApplied).toBeGreaterThan(0);
      expect(topups).toBeGreaterThan(0);
      const requests = [...received.values()].reduce((n, r) => n + r.length, 0);
      console.log(`scale-out: ${kills} kills, ${placed.length} orders, ${topups} top-ups, ${cancelled.size} cancels, ${usageApplied} usage grants, ${events.length} events, ${received.size} delivered ids, ${requests} requests`);
      const eventIds = new Set(events.map((e) => e.id));
      for (const [id] of received) expect(eventIds.has(id), `unknown webhook-id ${id}`).toBe(true);
      // Per webhook-id: answered 2xx at least once, and at least as many requests, of each answer, as the
      // store recorded attempts (a process killed between the answer and the record sends once more).
      const attempts = await store.db
        .selectFrom('webhook_attempts')
        .innerJoin('webhook_deliveries', 'webhook_deliveries.id', 'webhook_attempts.delivery_id')
        .select(['webhook_deliveries.event_id', 'webhook_attempts.status_code'])
        .where('webhook_deliveries.partner_id', '=', partnerId)
        .execute();
      for (const d of deliveries) {
        const got = received.get(d.event_id) ?? [];
        expect(got.filter((r) => r.status === 200).length, `event ${d.event_id} never delivered`).toBeGreaterThanOrEqual(1);
        const recorded = attempts.filter((a) => a.event_id === d.event_id);
        for (const status of [200, 503]) expect(got.filter((r) => r.status === status).length).toBeGreaterThanOrEqual(recorded.filter((a) => a.status_code === status).length);
      }
      // Repeats carry the same id (the map's key) and the same body; there were repeats to check.
      const repeated = [...received.values()].filter((r) => r.length > 1);
      expect(repeated.length).toBeGreaterThan(0);
      for (const r of repeated) expect(new Set(r.map((x) => x.body)).size).toBe(1);
    } finally {
      await store.close();
    }
  }, 300_000);
});
