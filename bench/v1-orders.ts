/**
 * /v1 order creation rate beside the eSIM Access order rate, in the same run, on the same server.
 *   node bin/run-ts.js bench/v1-orders.ts        (BENCH_SECONDS=8 by default, ROUNDS=2)
 * Both create one US 1 GB profile order per request with a unique reference: eSIM Access via esim/order and
 * a transactionId; /v1 via POST /v1/orders with an Idempotency-Key (stored per request, as the SDK sends it).
 * Runs alternate (eSIM Access, /v1, eSIM Access, /v1, …) so drift in the store (it grows) hits both alike;
 * the ratio is of the summed rates. Target: /v1 within 10 % of eSIM Access.
 */
import { load, printTable, startEsimhub, type LoadResult, waitForAllocationIdle } from './lib.ts';

const durationS = Number(process.env.BENCH_SECONDS ?? 8);
const rounds = Number(process.env.ROUNDS ?? 2);
const connections = 16;
const hub = await startEsimhub({ SANDBOX_ALLOCATION_DELAY_MS: '0' });

let counter = 0;
const eaRequest = {
  method: 'POST' as const,
  path: '/api/v1/open/esim/order',
  setupRequest(request: any) {
    request.headers = { ...request.headers, 'content-type': 'application/json', 'RT-AccessCode': hub.accessCode };
    request.body = JSON.stringify({ transactionId: `bench-ea-${process.pid}-${++counter}`, packageInfoList: [{ packageCode: 'US_1_7', count: 1 }] });
    return request;
  },
};
const v1Request = {
  method: 'POST' as const,
  path: '/v1/orders',
  setupRequest(request: any) {
    request.headers = { ...request.headers, 'content-type': 'application/json', authorization: `Bearer ${hub.accessCode}`, 'idempotency-key': `bench-v1-${process.pid}-${++counter}` };
    request.body = JSON.stringify({ lines: [{ package_id: 'US_1_7', count: 1 }] });
    return request;
  },
};

// The same without Idempotency-Key (transaction_id in the body), to show what the stored key costs.
const v1NoKeyRequest = {
  method: 'POST' as const,
  path: '/v1/orders',
  setupRequest(request: any) {
    request.headers = { ...request.headers, 'content-type': 'application/json', authorization: `Bearer ${hub.accessCode}` };
    request.body = JSON.stringify({ transaction_id: `bench-nk-${process.pid}-${++counter}`, lines: [{ package_id: 'US_1_7', count: 1 }] });
    return request;
  },
};

const waitForIdle = () => waitForAllocationIdle(hub.dataDir);

const runOnce = (request: typeof eaRequest, seconds: number) => load({ url: `http://127.0.0.1:${hub.port}`, requests: [request], duration: seconds, connections });
async function run(request: typeof eaRequest, seconds: number): Promise<LoadResult> {
  await waitForIdle();
  return runOnce(request, seconds);
}

try {
  const { runCli } = await import('../test/helpers/process.ts');
  const partners = await runCli(['partner', 'list', '--json'], { DATA_DIR: hub.dataDir });
  const demo = JSON.parse(partners.stdout)[0];
  await runCli(['partner', 'deposit', demo.id, '10000000'], { DATA_DIR: hub.dataDir });

  await run(eaRequest, 2);
  await run(v1Request, 2);
  const ea: LoadResult[] = [];
  const v1: LoadResult[] = [];
  const v1NoKey: LoadResult[] = [];
  // The order of the APIs rotates each round, so none always runs first on the emptier store.
  const plan: Array<[typeof eaRequest, LoadResult[]]> = [[eaRequest, ea], [v1Request, v1], [v1NoKeyRequest, v1NoKey]];
  for (let i = 0; i < rounds; i++) {
    for (let j = 0; j < plan.length; j++) {
      const [request, results] = plan[(i + j) % plan.length];
      results.push(await run(request, durationS));
    }
  }
  const sum = (results: LoadResult[]) => results.reduce((s, r) => s + r.requestsPerSecond, 0);
  const errors = (results: LoadResult[]) => results.reduce((s, r) => s + r.errors + r.non2xx, 0);
  const p99 = (results: LoadResult[]) => Math.max(...results.map((r) => r.latencyP99Ms));
  const ratio = sum(v1) / sum(ea);
  console.log(`\norder creation on the embedded store, ${rounds} x ${durationS} s per API, ${connections} connections, ${new Date().toISOString()}`);
  printTable([
    { api: 'eSIM Access esim/order (baseline)', 'req/s': Math.round(sum(ea) / rounds), runs: ea.map((r) => Math.round(r.requestsPerSecond)).join(' / '), 'p99 ms': p99(ea), ratio: '1.000', errors: errors(ea) },
    { api: 'POST /v1/orders + Idempotency-Key', 'req/s': Math.round(sum(v1) / rounds), runs: v1.map((r) => Math.round(r.requestsPerSecond)).join(' / '), 'p99 ms': p99(v1), ratio: ratio.toFixed(3), errors: errors(v1) },
    { api: 'POST /v1/orders, no key (info)', 'req/s': Math.round(sum(v1NoKey) / rounds), runs: v1NoKey.map((r) => Math.round(r.requestsPerSecond)).join(' / '), 'p99 ms': p99(v1NoKey), ratio: (sum(v1NoKey) / sum(ea)).toFixed(3), errors: errors(v1NoKey) },
  ]);
  console.log(`target: /v1 within 10 % of eSIM Access (ratio >= 0.900): ${ratio >= 0.9 ? 'met' : 'NOT met'}`);
} finally {
  await hub.stop();
}
