/**
 * Webhook delivery: deliveries per second to a local receiver and event-to-delivery lag, on the embedded
 * store, beside the bare-route baseline of the same run.
 *   npm run bench:webhooks
 * Events are written into the outbox by this process (as the allocation worker would): a burst committed
 * at once, then a steady rate; the server's dispatcher delivers them; the receiver (also in this process)
 * records when each arrives.
 */
import http from 'node:http';
import { load, percentile, printTable, startBareFastify, startEsimhub } from './lib.ts';
import { connectStore } from '../src/store/connect.ts';
import { emitEvent } from '../src/domain/events/outbox.ts';

const EVENTS = Number(process.env.BENCH_EVENTS ?? 10_000);
const bare = await startBareFastify();

const arrivals = new Map<string, number>();
const receiver = http.createServer((req, res) => {
  let body = '';
  req.on('data', (d) => (body += d));
  req.on('end', () => {
    const id = String(req.headers['webhook-id'] ?? '');
    if (id && !arrivals.has(id)) arrivals.set(id, Date.now());
    res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
  });
});
await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', () => r()));
const receiverUrl = `http://127.0.0.1:${(receiver.address() as { port: number }).port}/hook`;

const hub = await startEsimhub({ WEBHOOK_PARTNER_CONCURRENCY: process.env.WEBHOOK_PARTNER_CONCURRENCY ?? '32', ...(process.env.BENCH_NODE_ARGS ? { BENCH_NODE_ARGS: process.env.BENCH_NODE_ARGS } : {}) });
try {
  const save = await fetch(`http://127.0.0.1:${hub.port}/api/v1/open/webhook/save`, { method: 'POST', headers: { 'RT-AccessCode': hub.accessCode }, body: JSON.stringify({ webhook: receiverUrl }) }).then((r) => r.json() as Promise<any>);
  if (!save.success) throw new Error(`webhook/save failed: ${JSON.stringify(save)}`);
  arrivals.clear();

  const baseline = await load({ url: `http://127.0.0.1:${bare.port}/bare`, method: 'POST', body: '{}', duration: 5 });

  const store = await connectStore({ databaseUrl: '', dataDir: hub.dataDir });
  const partner = await store.db.selectFrom('partners').select('id').executeTakeFirstOrThrow();
  // Warm-up (not measured): the first deliveries of a process run through cold code in the server and here.
  const WARMUP = Number(process.env.BENCH_WARMUP_EVENTS ?? 3000);
  await store.db.transaction().execute(async (trx) => {
    for (let j = 0; j < WARMUP; j++) await emitEvent(trx, { partnerId: partner.id, type: 'order.ready', subject: `warm-${j}`, payload: { orderId: `ord_w${j}`, orderNo: `BW${j}`, transactionId: `w-${j}` } }, Date.now());
  });
  const warmDeadline = Date.now() + 60_000;
  while (arrivals.size < WARMUP && Date.now() < warmDeadline) await new Promise((r) => setTimeout(r, 50));
  arrivals.clear();

  const createdAt = new Map<string, number>();
  const started = Date.now();
  // The burst: EVENTS events committed in one transaction, one subject each (distinct eSIMs), as a large
  // batch order's allocation leaves them. Throughput is counted from the commit (when the dispatcher can
  // see them) to the last arrival. Writing them in many transactions from this second process instead
  // measures SQLite's lock hand-over between two processes: the server's writes wait (synchronously) while
  // this process takes the lock again and again, which no single-process deployment does.
  await store.db.transaction().execute(async (trx) => {
    for (let j = 0; j < EVENTS; j++) {
      const nowMs = Date.now();
      const id = await emitEvent(trx, { partnerId: partner.id, type: 'order.ready', subject: `bench-${j}`, payload: { orderId: `ord_${j}`, orderNo: `B${j}`, transactionId: `t-${j}` } }, nowMs);
      createdAt.set(id, nowMs);
    }
  });
  const committedAt = Date.now();
  const writtenMs = committedAt - started;
  const deadline = Date.now() + 120_000;
  while (arrivals.size < EVENTS && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  const lastArrival = Math.max(...arrivals.values());
  const lags = [...createdAt.entries()].filter(([id]) => arrivals.has(id)).map(([id, t]) => arrivals.get(id)! - t).sort((a, b) => a - b);
  const seconds = (lastArrival - committedAt) / 1000;
  const burstDelivered = arrivals.size;

  // Steady load below capacity: STEADY_RATE events per second for 6 s, in transactions of 10 every 20 ms
  // (as order traffic produces them); lag is what a receiver waits for each event.
  const steadyRate = Number(process.env.STEADY_RATE ?? 500);
  const steadyCreated = new Map<string, number>();
  const steadyEnd = Date.now() + 6000;
  let n = 0;
  while (Date.now() < steadyEnd) {
    const tickStart = Date.now();
    const perTick = Math.max(1, Math.round(steadyRate / 50));
    await store.db.transaction().execute(async (trx) => {
      for (let k = 0; k < perTick; k++, n++) {
        const nowMs = Date.now();
        const id = await emitEvent(trx, { partnerId: partner.id, type: 'order.ready', subject: `steady-${n}`, payload: { orderId: `ord_s${n}`, orderNo: `BS${n}`, transactionId: `s-${n}` } }, nowMs);
        steadyCreated.set(id, nowMs);
      }
    });
    await new Promise((r) => setTimeout(r, Math.max(0, 20 - (Date.now() - tickStart))));
  }
  await store.close();
  const steadyDeadline = Date.now() + 60_000;
  while ([...steadyCreated.keys()].some((id) => !arrivals.has(id)) && Date.now() < steadyDeadline) await new Promise((r) => setTimeout(r, 50));
  const steadyLags = [...steadyCreated.entries()].filter(([id]) => arrivals.has(id)).map(([id, t]) => arrivals.get(id)! - t).sort((a, b) => a - b);

  console.log(`\nwebhook delivery on the embedded store, ${EVENTS} events, ${new Date().toISOString()}`);
  printTable([
    { run: 'bare Fastify POST (baseline)', 'per second': Math.round(baseline.requestsPerSecond), unit: 'requests' },
    { run: 'webhook deliveries to a local receiver (burst)', 'per second': Math.round(burstDelivered / seconds), unit: 'deliveries' },
  ]);
  console.log(`burst: written in ${writtenMs} ms (one transaction); delivered ${burstDelivered} of ${EVENTS}; lag (includes the backlog) p50 ${percentile(lags, 50)} ms, p99 ${percentile(lags, 99)} ms`);
  console.log(`steady ${steadyRate}/s for 6 s: delivered ${steadyLags.length} of ${steadyCreated.size}; event-to-delivery lag p50 ${percentile(steadyLags, 50)} ms, p99 ${percentile(steadyLags, 99)} ms`);
  console.log('targets: >= 2,000 deliveries/s; event-to-delivery lag p99 <= 1 s');
} finally {
  await hub.stop();
  await bare.stop();
  receiver.close();
}
