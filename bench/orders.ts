/**
 * Ordering throughput and order-to-ready latency on the embedded store, beside the bare-route baseline.
 *   npm run bench:orders
 * Orders go through the eSIM Access API (esim/order, one US 1 GB profile each, unique transactionId);
 * order-to-ready latency is read from the orders table (completed_at - created_at, both server clocks).
 */
import path from 'node:path';
import { load, percentile, printTable, startBareFastify, startEsimhub, waitForAllocationIdle } from './lib.ts';
import { connectStore } from '../src/store/connect.ts';

const durationS = Number(process.env.BENCH_SECONDS ?? 8);
const bare = await startBareFastify();
const hub = await startEsimhub({ SANDBOX_ALLOCATION_DELAY_MS: '0' });

let counter = 0;
function orderRequest() {
  return {
    method: 'POST' as const,
    path: '/api/v1/open/esim/order',
    setupRequest(request: any) {
      request.headers = { ...request.headers, 'content-type': 'application/json', 'RT-AccessCode': hub.accessCode };
      request.body = JSON.stringify({ transactionId: `bench-${process.pid}-${++counter}`, packageInfoList: [{ packageCode: 'US_1_7', count: 1 }] });
      return request;
    },
  };
}

async function latencies(sinceMs: number): Promise<{ p50: number; p99: number; n: number; pending: number }> {
  const store = await connectStore({ databaseUrl: '', dataDir: hub.dataDir });
  try {
    const rows = await store.db.selectFrom('orders').select(['created_at', 'completed_at', 'status']).where('created_at', '>=', sinceMs).execute();
    const done = rows.filter((r) => r.completed_at !== null).map((r) => Number(r.completed_at) - Number(r.created_at)).sort((a, b) => a - b);
    const stuck = rows.filter((r) => r.completed_at === null);
    if (stuck.length) console.log(`orders without completion: ${JSON.stringify(stuck.slice(0, 5))}`);
    return { p50: percentile(done, 50), p99: percentile(done, 99), n: done.length, pending: rows.length - done.length };
  } finally {
    await store.close();
  }
}

const waitForIdle = () => waitForAllocationIdle(hub.dataDir);

try {
  // The demo partner holds $1,000; give it enough for the run.
  const { runCli } = await import('../test/helpers/process.ts');
  const partners = await runCli(['partner', 'list', '--json'], { DATA_DIR: hub.dataDir });
  const demo = JSON.parse(partners.stdout)[0];
  await runCli(['partner', 'deposit', demo.id, '10000000'], { DATA_DIR: hub.dataDir });

  await load({ url: `http://127.0.0.1:${bare.port}/bare`, method: 'POST', body: '{}', duration: 2 });
  const baseline = await load({ url: `http://127.0.0.1:${bare.port}/bare`, method: 'POST', body: '{}', duration: durationS });

  await load({ url: `http://127.0.0.1:${hub.port}`, requests: [orderRequest()], duration: 2, connections: 16 });
  await waitForIdle();
  const sustainedStart = Date.now();
  const sustained = await load({ url: `http://127.0.0.1:${hub.port}`, requests: [orderRequest()], duration: durationS, connections: 16 });
  await waitForIdle();
  const underLoad = await latencies(sustainedStart);

  // Light load: 50 orders per second, the latency a partner sees when the platform is not saturated.
  const lightStart = Date.now();
  const light = await load({ url: `http://127.0.0.1:${hub.port}`, requests: [orderRequest()], duration: durationS, connections: 4, overallRate: 50 });
  await waitForIdle();
  const atLight = await latencies(lightStart);

  console.log(`\nordering on the embedded store, ${durationS} s per run, ${new Date().toISOString()} (${path.basename(hub.dataDir)})`);
  printTable([
    { run: 'bare Fastify POST (baseline)', 'req/s': Math.round(baseline.requestsPerSecond), ratio: '1.00', 'ready p50 ms': '-', 'ready p99 ms': '-', errors: baseline.errors + baseline.non2xx },
    { run: 'esim/order sustained (16 conns)', 'req/s': Math.round(sustained.requestsPerSecond), ratio: (sustained.requestsPerSecond / baseline.requestsPerSecond).toFixed(3), 'ready p50 ms': underLoad.p50, 'ready p99 ms': underLoad.p99, errors: sustained.errors + sustained.non2xx },
    { run: 'esim/order at 50/s', 'req/s': Math.round(light.requestsPerSecond), ratio: (light.requestsPerSecond / baseline.requestsPerSecond).toFixed(3), 'ready p50 ms': atLight.p50, 'ready p99 ms': atLight.p99, errors: light.errors + light.non2xx },
  ]);
  console.log(`orders made ready: ${underLoad.n} (sustained) + ${atLight.n} (light); never ready: ${underLoad.pending + atLight.pending}`);
  console.log('targets: >= 1,000 orders/s sustained; order-to-ready p99 <= 250 ms with zero simulated delay');
} finally {
  await hub.stop();
  await bare.stop();
}
